import type { Db } from '../db/database.ts';

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
export function createPasswordEntriesRepository(db: Db) {
  const insert = db.prepare('INSERT OR REPLACE INTO admin_password_entries (username, at, groups, client_ip) VALUES (?, ?, ?, ?)');
  const purge = db.prepare('DELETE FROM admin_password_entries WHERE username = ? AND at < ?');
  const select = db.prepare<[string, number, number], string>(
    'SELECT groups FROM admin_password_entries WHERE username = ? AND at BETWEEN ? AND ? ORDER BY at DESC LIMIT 1',
  ).pluck();
  const record = db.transaction((username: string, at: number, groups: readonly string[], clientIp: string) => {
    purge.run(username, at - KEEP_SECONDS);
    insert.run(username, at, JSON.stringify(groups), clientIp);
  });

  return {
    record(username: string, at: number, groups: readonly string[], clientIp: string): void {
      record(username, at, groups, clientIp);
    },
    /** The groups recorded at the password entry that started a session; undefined when it was not an admin login. */
    groupsAt(username: string, authTime: number): string[] | undefined {
      const value = select.get(username, authTime - STAMP_TOLERANCE_SECONDS, authTime + STAMP_TOLERANCE_SECONDS);
      return value === undefined ? undefined : (JSON.parse(value) as string[]);
    },
  };
}
