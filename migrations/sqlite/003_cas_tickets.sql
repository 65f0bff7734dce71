-- CAS service tickets. Only the SHA-256 of a ticket is stored; a row is deleted by its first
-- validation attempt, successful or not (single use), or by housekeeping once expired.
CREATE TABLE cas_tickets (
  id_hash        TEXT PRIMARY KEY,
  app_id         TEXT NOT NULL,
  service        TEXT NOT NULL,    -- the exact service string the ticket was issued for
  subject        TEXT NOT NULL,    -- JSON: who the ticket asserts (user or machine)
  flavor         TEXT NOT NULL,
  from_new_login INTEGER NOT NULL CHECK (from_new_login IN (0, 1)),
  created_at     INTEGER NOT NULL, -- unix seconds
  expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX cas_tickets_by_expiry ON cas_tickets (expires_at);
