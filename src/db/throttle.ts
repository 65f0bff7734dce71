import type { Queryable } from '../store/store.ts';

export type ThrottleScope = 'account' | 'ip';

export type ThrottleRepository = ReturnType<typeof createThrottleRepository>;

/**
 * Failed-login counts, persisted so a restart does not reset an attacker's budget, and shared by
 * every host on one store. Each failure is its own row (one INSERT, then a count within the
 * window) rather than a counter: concurrent hosts each add their row and no update is lost, and
 * the sliding window needs no bucket arithmetic. The housekeeping purge drops rows older than it.
 */
export function createThrottleRepository(db: Queryable) {
  return {
    async failuresSince(scope: ThrottleScope, key: string, sinceSeconds: number): Promise<number> {
      const row = await db
        .selectFrom('login_failures')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('scope', '=', scope)
        .where('key', '=', key)
        .where('at', '>', sinceSeconds)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    /** One row against the account and one against the client IP, in one statement. */
    async recordFailure(account: string, ip: string, atSeconds: number): Promise<void> {
      await db
        .insertInto('login_failures')
        .values([
          { scope: 'account', key: account, at: atSeconds },
          { scope: 'ip', key: ip, at: atSeconds },
        ])
        .execute();
    },
    async purgeBefore(seconds: number): Promise<number> {
      const result = await db.deleteFrom('login_failures').where('at', '<=', seconds).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
