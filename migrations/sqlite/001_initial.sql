-- Accounts for the local verifier. Usernames are stored case-folded (NFKC + lower case).
CREATE TABLE users (
  username      TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
) STRICT;

-- Roles on accounts (e.g. admin). Kept apart from users so directory-backed users can have roles too.
CREATE TABLE user_roles (
  username TEXT NOT NULL,
  role     TEXT NOT NULL,
  PRIMARY KEY (username, role)
) STRICT;

-- Server-side SSO sessions. The cookie holds a random id; only its SHA-256 is stored.
CREATE TABLE sessions (
  id_hash             TEXT PRIMARY KEY,
  username            TEXT NOT NULL,
  roles               TEXT NOT NULL,   -- JSON array
  amr                 TEXT NOT NULL,   -- JSON array
  verifier            TEXT NOT NULL,
  auth_time           INTEGER NOT NULL, -- unix seconds of the last password entry
  created_at          INTEGER NOT NULL,
  last_seen_at        INTEGER NOT NULL,
  idle_seconds        INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  client_ip           TEXT
) STRICT;
CREATE INDEX sessions_by_username ON sessions (username);
CREATE INDEX sessions_by_expiry ON sessions (absolute_expires_at);

-- Failed logins, one row each, for throttling per account and per client IP.
CREATE TABLE login_failures (
  id    INTEGER PRIMARY KEY,
  scope TEXT NOT NULL CHECK (scope IN ('account', 'ip')),
  key   TEXT NOT NULL,
  at    INTEGER NOT NULL -- unix seconds
) STRICT;
CREATE INDEX login_failures_by_key ON login_failures (scope, key, at);

-- Every authentication event, with UTC ISO-8601 timestamps.
CREATE TABLE auth_events (
  id        INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  event     TEXT NOT NULL,
  username  TEXT,
  client_ip TEXT,
  app_id    TEXT,
  flavor    TEXT,
  verifier  TEXT,
  detail    TEXT
) STRICT;
CREATE INDEX auth_events_by_at ON auth_events (at);
CREATE INDEX auth_events_by_username ON auth_events (username, at);

-- Signing keys. purpose separates grant keys (published in the JWKS) from other token kinds.
-- A retired key loses its private half and stays published until publish_until.
CREATE TABLE signing_keys (
  kid           TEXT PRIMARY KEY,
  purpose       TEXT NOT NULL,
  alg           TEXT NOT NULL,
  private_jwk   TEXT,
  public_jwk    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  retired_at    INTEGER,
  publish_until INTEGER
) STRICT;
CREATE INDEX signing_keys_by_purpose ON signing_keys (purpose, created_at);

-- Random server secrets generated on first start (HMAC keys for CSRF tokens and login contexts).
CREATE TABLE server_secrets (
  name       TEXT PRIMARY KEY,
  value      BLOB NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
