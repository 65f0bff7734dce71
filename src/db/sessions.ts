import { createHash } from 'node:crypto';
import type { Db } from './database.ts';

export interface SsoSession {
  readonly idHash: string;
  /** the session id grants and logout tokens name; random, unrelated to the cookie */
  readonly sid: string;
  readonly username: string;
  readonly roles: readonly string[];
  readonly amr: readonly string[];
  readonly verifier: string;
  /** unix seconds of the last password entry */
  readonly authTime: number;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly idleSeconds: number;
  readonly absoluteExpiresAt: number;
}

export interface NewSession {
  readonly sid: string;
  readonly username: string;
  readonly roles: readonly string[];
  readonly amr: readonly string[];
  readonly verifier: string;
  readonly authTime: number;
  readonly idleSeconds: number;
  readonly absoluteSeconds: number;
  readonly clientIp: string;
}

/** Only a hash of the cookie value is stored, so a copy of the database opens no sessions. */
export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

interface SessionDbRow {
  id_hash: string;
  sid: string;
  username: string;
  roles: string;
  amr: string;
  verifier: string;
  auth_time: number;
  created_at: number;
  last_seen_at: number;
  idle_seconds: number;
  absolute_expires_at: number;
}

function toSession(row: SessionDbRow): SsoSession {
  return {
    idHash: row.id_hash,
    sid: row.sid,
    username: row.username,
    roles: JSON.parse(row.roles) as string[],
    amr: JSON.parse(row.amr) as string[],
    verifier: row.verifier,
    authTime: row.auth_time,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    idleSeconds: row.idle_seconds,
    absoluteExpiresAt: row.absolute_expires_at,
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;

export function isExpired(session: SsoSession, nowSeconds: number): boolean {
  return session.absoluteExpiresAt <= nowSeconds || session.lastSeenAt + session.idleSeconds <= nowSeconds;
}

/**
 * SSO session rows. Ending a session (logout, expiry, replacement, an admin) is src/logout's job,
 * which deletes the row in the same transaction that queues the single-logout deliveries.
 */
export function createSessionsRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO sessions (id_hash, sid, username, roles, amr, verifier, auth_time, created_at, last_seen_at, idle_seconds, absolute_expires_at, client_ip)
     VALUES (@idHash, @sid, @username, @roles, @amr, @verifier, @authTime, @now, @now, @idleSeconds, @absoluteExpiresAt, @clientIp)`,
  );
  const select = db.prepare<[string], SessionDbRow>('SELECT * FROM sessions WHERE id_hash = ?');
  const touch = db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?');
  const remove = db.prepare('DELETE FROM sessions WHERE id_hash = ?');
  const expired = db.prepare<{ now: number; limit: number }, SessionDbRow>('SELECT * FROM sessions WHERE absolute_expires_at <= @now OR last_seen_at + idle_seconds <= @now LIMIT @limit');
  const ofUser = db.prepare<[string], SessionDbRow>('SELECT * FROM sessions WHERE username = ?');
  const countOfUser = db.prepare<[string, number], { n: number }>('SELECT count(*) AS n FROM sessions WHERE username = ? AND absolute_expires_at > ?');

  return {
    create(id: string, session: NewSession, nowSeconds: number): void {
      insert.run({
        idHash: hashSessionId(id),
        sid: session.sid,
        username: session.username,
        roles: JSON.stringify(session.roles),
        amr: JSON.stringify(session.amr),
        verifier: session.verifier,
        authTime: session.authTime,
        now: nowSeconds,
        idleSeconds: session.idleSeconds,
        absoluteExpiresAt: nowSeconds + session.absoluteSeconds,
        clientIp: session.clientIp,
      });
    },
    /** The session row for a cookie value, live or expired (the caller decides; see loadSsoSession). */
    find(id: string): SsoSession | undefined {
      const row = select.get(hashSessionId(id));
      return row ? toSession(row) : undefined;
    },
    touch(idHash: string, nowSeconds: number): void {
      touch.run(nowSeconds, idHash);
    },
    /** Deletes the row; true when it was there (only src/logout calls this, inside its transaction). */
    deleteByIdHash(idHash: string): boolean {
      return remove.run(idHash).changes === 1;
    },
    expired(nowSeconds: number, limit: number): SsoSession[] {
      return expired.all({ now: nowSeconds, limit }).map(toSession);
    },
    ofUser(username: string): SsoSession[] {
      return ofUser.all(username).map(toSession);
    },
    liveCountOfUser(username: string, nowSeconds: number): number {
      return countOfUser.get(username, nowSeconds)?.n ?? 0;
    },
  };
}
