-- Kiosk machines (docs/machines.md). Times are unix seconds, like the sessions table.

-- The version table: one row per machine. A machine cookie is valid only while its `ver` equals
-- `version`; minting and revoking both increment it. Rows are never deleted, so a version number
-- is never reused (re-adding a deleted machine at version 0 would revive its old cookies).
CREATE TABLE machines (
  fqdn         TEXT PRIMARY KEY CHECK (fqdn = lower(fqdn) AND length(fqdn) BETWEEN 1 AND 253),
  version      INTEGER NOT NULL DEFAULT 0 CHECK (version BETWEEN 0 AND 4294967295),
  set_by       TEXT NOT NULL,             -- who last changed the version (minted or revoked)
  set_at       INTEGER NOT NULL,
  expires_at   INTEGER,                   -- expiry of the current cookie; NULL when no cookie is valid
  status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  location     TEXT,
  networks     TEXT NOT NULL DEFAULT '[]', -- JSON array of CIDRs where the machine is expected
  entitlements TEXT NOT NULL DEFAULT '[]', -- JSON array released with machine grants
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX machines_by_expiry ON machines (expires_at);

-- History of every change and of refused attempts. Append-only: the triggers below refuse
-- UPDATE and DELETE, so the history cannot be rewritten through the application.
CREATE TABLE machine_events (
  id        INTEGER PRIMARY KEY,
  fqdn      TEXT NOT NULL,               -- '*' for global actions (invalidate-before, key rotation)
  action    TEXT NOT NULL,
  version   INTEGER,                     -- the machine's version after the action
  actor     TEXT NOT NULL,               -- admin username, 'cli:<os user>', 'system:anomaly', 'enrollment'
  at        INTEGER NOT NULL,
  client_ip TEXT,
  reason    TEXT,
  detail    TEXT
) STRICT;
CREATE INDEX machine_events_by_fqdn ON machine_events (fqdn, id);
CREATE TRIGGER machine_events_no_update BEFORE UPDATE ON machine_events
BEGIN SELECT RAISE(ABORT, 'machine_events is append-only'); END;
CREATE TRIGGER machine_events_no_delete BEFORE DELETE ON machine_events
BEGIN SELECT RAISE(ABORT, 'machine_events is append-only'); END;

-- Every presentation of a machine cookie as a credential. fqdn is set only when the cookie's
-- signature verified; claimed_fqdn keeps what an unverifiable cookie claimed, for the audit.
CREATE TABLE machine_sightings (
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  fqdn         TEXT,
  claimed_fqdn TEXT,
  jti_hash     TEXT,                     -- SHA-256 of the cookie's jti, truncated; never the jti itself
  version      INTEGER,
  client_ip    TEXT NOT NULL,
  network      TEXT NOT NULL,            -- registered CIDR containing client_ip, else its /24 or /64
  user_agent   TEXT,
  app_id       TEXT,
  outcome      TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
  reason       TEXT
) STRICT;
CREATE INDEX machine_sightings_by_fqdn ON machine_sightings (fqdn, at);
CREATE INDEX machine_sightings_by_claim ON machine_sightings (claimed_fqdn, at) WHERE claimed_fqdn IS NOT NULL;
CREATE INDEX machine_sightings_by_outcome ON machine_sightings (fqdn, outcome, id);
CREATE INDEX machine_sightings_by_jti ON machine_sightings (jti_hash, id);

-- One row per (machine, address), kept by the same transaction as the sighting: "which addresses
-- has this machine claimed" is one primary-key range read however many sightings there are.
CREATE TABLE machine_ip_summary (
  fqdn           TEXT NOT NULL,
  client_ip      TEXT NOT NULL,
  network        TEXT NOT NULL,
  first_seen     INTEGER NOT NULL,
  last_seen      INTEGER NOT NULL,
  count          INTEGER NOT NULL,
  rejected_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (fqdn, client_ip)
) STRICT, WITHOUT ROWID;
CREATE INDEX machine_ip_summary_by_last_seen ON machine_ip_summary (fqdn, last_seen);

-- Anomalies found on sightings. One open alert per (machine, rule, address): repeats bump count.
CREATE TABLE machine_alerts (
  id          INTEGER PRIMARY KEY,
  fqdn        TEXT NOT NULL,
  rule        TEXT NOT NULL CHECK (rule IN ('outside_networks', 'teleport', 'clone')),
  client_ip   TEXT NOT NULL,
  previous_ip TEXT,
  detail      TEXT NOT NULL,
  first_at    INTEGER NOT NULL,
  last_at     INTEGER NOT NULL,
  count       INTEGER NOT NULL DEFAULT 1,
  suspended   INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),
  status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  closed_by   TEXT,
  closed_at   INTEGER
) STRICT;
CREATE INDEX machine_alerts_by_fqdn ON machine_alerts (fqdn, status, rule, client_ip);
CREATE INDEX machine_alerts_by_status ON machine_alerts (status, id);

-- One-time enrollment codes (`webiso machine enroll`). Only a hash of the code is stored.
CREATE TABLE machine_enrollments (
  code_hash     TEXT PRIMARY KEY,
  fqdn          TEXT NOT NULL REFERENCES machines (fqdn),
  lifetime_days INTEGER NOT NULL,
  created_by    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  used_at       INTEGER,
  used_ip       TEXT
) STRICT;

-- Global machine settings changed at run time (the CLI's invalidate-before cutoff).
CREATE TABLE machine_settings (
  name   TEXT PRIMARY KEY,
  value  TEXT NOT NULL,
  set_by TEXT NOT NULL,
  set_at INTEGER NOT NULL
) STRICT;

-- Directory groups reported by the verifier at an admin's password entry on /admin/login: the
-- sessions table keeps roles only, and mint-policy rules may name groups.
CREATE TABLE admin_password_entries (
  username  TEXT NOT NULL,
  at        INTEGER NOT NULL,
  groups    TEXT NOT NULL,  -- JSON array
  client_ip TEXT,
  PRIMARY KEY (username, at)
) STRICT;
