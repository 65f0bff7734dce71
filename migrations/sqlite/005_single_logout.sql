-- Single logout (docs/logout.md). Every SSO session gets a random session id `sid`, distinct from
-- its cookie, that goes into every grant and is what logout tokens name.
ALTER TABLE sessions ADD COLUMN sid TEXT;
UPDATE sessions SET sid = lower(hex(randomblob(18))) WHERE sid IS NULL;
CREATE UNIQUE INDEX sessions_by_sid ON sessions (sid);

-- The session a CAS ticket was issued from, so its validation can record the service against it.
ALTER TABLE cas_tickets ADD COLUMN sid TEXT;

-- The session index: which apps (and which CAS service tickets) received an identity from which
-- session. Ending the session turns these rows into deliveries and deletes them.
CREATE TABLE session_participants (
  id           INTEGER PRIMARY KEY,
  sid          TEXT NOT NULL,
  app_id       TEXT NOT NULL,
  protocol     TEXT NOT NULL CHECK (protocol IN ('native', 'cas')),
  subject      TEXT NOT NULL,             -- username, or machine:<fqdn>
  kind         TEXT NOT NULL CHECK (kind IN ('user', 'machine')),
  cas_service  TEXT,                      -- CAS: the service the ticket was validated for
  cas_ticket   TEXT,                      -- CAS single logout's SessionIndex; kept only after its validation consumed it
  at           INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX session_participants_unique ON session_participants (sid, app_id, protocol, coalesce(cas_ticket, ''));
CREATE INDEX session_participants_by_subject ON session_participants (subject);

-- The logout outbox: written in the transaction that ends a session, sent after commit, retried
-- with backoff until delivered or give_up_at. Nothing pending is lost by a restart.
CREATE TABLE logout_deliveries (
  id              INTEGER PRIMARY KEY,
  sid             TEXT NOT NULL,
  app_id          TEXT NOT NULL,
  channel         TEXT NOT NULL CHECK (channel IN ('backchannel', 'cas')),
  url             TEXT NOT NULL,
  subject         TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('user', 'machine')),
  cas_ticket      TEXT,
  reason          TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  give_up_at      INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER
) STRICT;
CREATE INDEX logout_deliveries_due ON logout_deliveries (status, next_attempt_at);
CREATE INDEX logout_deliveries_by_app ON logout_deliveries (app_id, status);
