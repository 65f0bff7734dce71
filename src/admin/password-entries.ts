import { atomically } from '../db/atomically.ts';
import type { Queryable } from '../store/store.ts';

/** How far apart (seconds) a password entry and the session it started may be stamped. */
const STAMP_TOLERANCE_SECONDS = 2;
/** Older entries of the same user are dropped when a new one is written. */
const KEEP_SECONDS = 86_400;

export type PasswordEntriesRepository = ReturnType<typeof createPasswordEntriesRepository>;

/**
 * The directory groups a verifier reported when an admin typed a password on /admin/login. The
 * sessions table keeps roles only; mint-policy rules may name groups, so the admin pages look the
 * groups up by (username, the session's auth_time).
 */
export function createPasswordEntriesRepository(db: Queryable) {
  return {
    async record(username: string, at: number, groups: readonly string[], clientIp: string): Promise<void> {
      const row = { username, at, groups: JSON.stringify(groups), client_ip: clientIp };
      await atomically(db, async (trx) => {
        await trx.deleteFrom('admin_password_entries').where('username', '=', username).where('at', '<', at - KEEP_SECONDS).execute();
        // a second entry in the same second replaces the first (the key is username and at)
        await trx
          .insertInto('admin_password_entries')
          .values(row)
          .onConflict((conflict) => conflict.columns(['username', 'at']).doUpdateSet({ groups: row.groups, client_ip: row.client_ip }))
          .execute();
      });
    },
    /** The groups recorded at the password entry that started a session; undefined when it was not an admin login. */
    async groupsAt(username: string, authTime: number): Promise<string[] | undefined> {
      const row = await db
        .selectFrom('admin_password_entries')
        .select('groups')
        .where('username', '=', username)
        .where('at', '>=', authTime - STAMP_TOLERANCE_SECONDS)
        .where('at', '<=', authTime + STAMP_TOLERANCE_SECONDS)
        .orderBy('at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : (JSON.parse(row.groups) as string[]);
    },
  };
}
