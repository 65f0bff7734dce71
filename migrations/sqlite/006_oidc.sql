-- OpenID Connect (docs/oidc.md). oidc-provider's storage, on webiso's database: one row per stored
-- model instance (sessions, interactions, grants, authorization codes, access and refresh tokens,
-- replay markers, and webiso's account snapshots). Every row expires; single-use models are
-- consumed in place (consumed_at) so a replay is recognised and the grant's tokens revoked.
CREATE TABLE oidc_models (
  model        TEXT NOT NULL,
  id           TEXT NOT NULL,
  payload      TEXT NOT NULL,              -- JSON, as oidc-provider hands it over
  grant_id     TEXT,                       -- for revokeByGrantId
  uid          TEXT,                       -- sessions: findByUid
  user_code    TEXT,                       -- device flow (unused: the feature is off)
  expires_at   INTEGER NOT NULL,
  consumed_at  INTEGER,
  PRIMARY KEY (model, id)
) STRICT;
CREATE INDEX oidc_models_by_grant ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_models_by_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_models_by_expiry ON oidc_models (expires_at);

-- The session index learns a third protocol, and the outbox a third channel: an OIDC client's
-- back-channel logout token names the OP issuer, the client id as audience and the ID token's sid.
-- SQLite cannot change a CHECK in place, so both tables are rebuilt with their indexes.
CREATE TABLE session_participants_new (
  id           INTEGER PRIMARY KEY,
  sid          TEXT NOT NULL,
  app_id       TEXT NOT NULL,
  protocol     TEXT NOT NULL CHECK (protocol IN ('native', 'cas', 'oidc')),
  subject      TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('user', 'machine')),
  cas_service  TEXT,
  cas_ticket   TEXT,
  at           INTEGER NOT NULL
) STRICT;
INSERT INTO session_participants_new (id, sid, app_id, protocol, subject, kind, cas_service, cas_ticket, at)
  SELECT id, sid, app_id, protocol, subject, kind, cas_service, cas_ticket, at FROM session_participants;
DROP TABLE session_participants;
ALTER TABLE session_participants_new RENAME TO session_participants;
CREATE UNIQUE INDEX session_participants_unique ON session_participants (sid, app_id, protocol, coalesce(cas_ticket, ''));
CREATE INDEX session_participants_by_subject ON session_participants (subject);

CREATE TABLE logout_deliveries_new (
  id              INTEGER PRIMARY KEY,
  sid             TEXT NOT NULL,
  app_id          TEXT NOT NULL,
  channel         TEXT NOT NULL CHECK (channel IN ('backchannel', 'cas', 'oidc')),
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
INSERT INTO logout_deliveries_new SELECT id, sid, app_id, channel, url, subject, kind, cas_ticket, reason, status, attempts, next_attempt_at, give_up_at, last_error, created_at, delivered_at FROM logout_deliveries;
DROP TABLE logout_deliveries;
ALTER TABLE logout_deliveries_new RENAME TO logout_deliveries;
CREATE INDEX logout_deliveries_due ON logout_deliveries (status, next_attempt_at);
CREATE INDEX logout_deliveries_by_app ON logout_deliveries (app_id, status);
