import { createHash } from 'node:crypto';
import type { Db } from './database.ts';

export interface SsoSession {
  readonly idHash: string;
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

export function createSessionsRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO sessions (id_hash, username, roles, amr, verifier, auth_time, created_at, last_seen_at, idle_seconds, absolute_expires_at, client_ip)
     VALUES (@idHash, @username, @roles, @amr, @verifier, @authTime, @now, @now, @idleSeconds, @absoluteExpiresAt, @clientIp)`,
  );
  const select = db.prepare<[string], SessionDbRow>('SELECT * FROM sessions WHERE id_hash = ?');
  const touch = db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?');
  const remove = db.prepare('DELETE FROM sessions WHERE id_hash = ?');
  const removeExpired = db.prepare('DELETE FROM sessions WHERE absolute_expires_at <= @now OR last_seen_at + idle_seconds <= @now');

  const replace = db.transaction((oldIdHash: string | undefined, row: Record<string, unknown>) => {
    if (oldIdHash) remove.run(oldIdHash);
    insert.run(row);
  });

  return {
    /** Creates a session, deleting the browser's previous one in the same transaction (no fixation, no leftovers). */
    create(id: string, session: NewSession, nowSeconds: number, previousId?: string): void {
      replace(previousId ? hashSessionId(previousId) : undefined, {
        idHash: hashSessionId(id),
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
    /** Returns the live session for a cookie value; an expired one is deleted on sight. */
    findLive(id: string, nowSeconds: number): SsoSession | undefined {
      const idHash = hashSessionId(id);
      const row = select.get(idHash);
      if (!row) return undefined;
      const session = toSession(row);
      if (session.absoluteExpiresAt <= nowSeconds || session.lastSeenAt + session.idleSeconds <= nowSeconds) {
        remove.run(idHash);
        return undefined;
      }
      return session;
    },
    touch(idHash: string, nowSeconds: number): void {
      touch.run(nowSeconds, idHash);
    },
    delete(id: string): boolean {
      return remove.run(hashSessionId(id)).changes === 1;
    },
    purgeExpired(nowSeconds: number): number {
      return removeExpired.run({ now: nowSeconds }).changes;
    },
  };
}
