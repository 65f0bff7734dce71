import { createHash } from 'node:crypto';
import type { Selectable } from 'kysely';
import { prepareQuery, type Param } from '../store/prepared-query.ts';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

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

type SessionDbRow = Selectable<Tables['sessions']>;

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

/** Every SSO redirect and CAS login reads its session: compiled once (src/store/prepared-query.ts). */
const findByIdHash = prepareQuery((db, param: Param<{ idHash: string }>) => db.selectFrom('sessions').selectAll().where('id_hash', '=', param('idHash')));

export function isExpired(session: SsoSession, nowSeconds: number): boolean {
  return session.absoluteExpiresAt <= nowSeconds || session.lastSeenAt + session.idleSeconds <= nowSeconds;
}

/**
 * SSO session rows. Ending a session (logout, expiry, replacement, an admin) is src/logout's job,
 * which deletes the row in the same transaction that queues the single-logout deliveries.
 * `db` is the store's connection or a caller's transaction.
 */
export function createSessionsRepository(db: Queryable) {
  return {
    async create(id: string, session: NewSession, nowSeconds: number): Promise<void> {
      await db
        .insertInto('sessions')
        .values({
          id_hash: hashSessionId(id),
          sid: session.sid,
          username: session.username,
          roles: JSON.stringify(session.roles),
          amr: JSON.stringify(session.amr),
          verifier: session.verifier,
          auth_time: session.authTime,
          created_at: nowSeconds,
          last_seen_at: nowSeconds,
          idle_seconds: session.idleSeconds,
          absolute_expires_at: nowSeconds + session.absoluteSeconds,
          client_ip: session.clientIp,
        })
        .execute();
    },
    /** The session row for a cookie value, live or expired (the caller decides; see loadSsoSession). */
    async find(id: string): Promise<SsoSession | undefined> {
      const [row] = (await findByIdHash(db, { idHash: hashSessionId(id) })).rows;
      return row ? toSession(row) : undefined;
    },
    async touch(idHash: string, nowSeconds: number): Promise<void> {
      await db.updateTable('sessions').set({ last_seen_at: nowSeconds }).where('id_hash', '=', idHash).execute();
    },
    /** Deletes the row; true when it was there (only src/logout calls this, inside its transaction). */
    async deleteByIdHash(idHash: string): Promise<boolean> {
      const result = await db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst();
      return result.numDeletedRows === 1n;
    },
    async expired(nowSeconds: number, limit: number): Promise<SsoSession[]> {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where((eb) => eb.or([eb('absolute_expires_at', '<=', nowSeconds), eb(eb('last_seen_at', '+', eb.ref('idle_seconds')), '<=', nowSeconds)]))
        .limit(limit)
        .execute();
      return rows.map(toSession);
    },
    async ofUser(username: string): Promise<SsoSession[]> {
      return (await db.selectFrom('sessions').selectAll().where('username', '=', username).execute()).map(toSession);
    },
    async liveCountOfUser(username: string, nowSeconds: number): Promise<number> {
      const row = await db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('username', '=', username)
        .where('absolute_expires_at', '>', nowSeconds)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
