-- Housekeeping jobs (expiry sweeps, retention, the logout outbox's retries) run on every host; a
-- host does a job only while it holds the job's lease (src/store/lease.ts), so two hosts sharing a
-- database never do the same job twice.
CREATE TABLE housekeeping_leases (
  name   TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  until  INTEGER NOT NULL -- unix seconds
) STRICT;
