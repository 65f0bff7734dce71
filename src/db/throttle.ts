import type { Db } from './database.ts';

export type ThrottleScope = 'account' | 'ip';

export type ThrottleRepository = ReturnType<typeof createThrottleRepository>;

/** Failed-login counters persisted in SQLite so a restart does not reset an attacker's budget. */
export function createThrottleRepository(db: Db) {
  const count = db.prepare<[ThrottleScope, string, number], number>(
    'SELECT count(*) FROM login_failures WHERE scope = ? AND key = ? AND at > ?',
  ).pluck();
  const insert = db.prepare('INSERT INTO login_failures (scope, key, at) VALUES (?, ?, ?)');
  const purge = db.prepare('DELETE FROM login_failures WHERE at <= ?');
  const recordBoth = db.transaction((account: string, ip: string, at: number) => {
    insert.run('account', account, at);
    insert.run('ip', ip, at);
  });

  return {
    failuresSince(scope: ThrottleScope, key: string, sinceSeconds: number): number {
      return count.get(scope, key, sinceSeconds) ?? 0;
    },
    recordFailure(account: string, ip: string, atSeconds: number): void {
      recordBoth(account, ip, atSeconds);
    },
    purgeBefore(seconds: number): number {
      return purge.run(seconds).changes;
    },
  };
}
