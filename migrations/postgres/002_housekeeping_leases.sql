-- Housekeeping jobs run on every host; a host does a job only while it holds the job's lease
-- (src/store/lease.ts). Same table as migrations/sqlite/008_housekeeping_leases.sql.
CREATE TABLE housekeeping_leases (
  name   TEXT COLLATE "C" PRIMARY KEY,
  holder TEXT COLLATE "C" NOT NULL,
  until  BIGINT NOT NULL
);
