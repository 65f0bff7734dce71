import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Queryable } from './store.ts';

/** This process, as named in housekeeping_leases: readable in the table, unique across restarts. */
export const LEASE_HOLDER = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/**
 * Takes or renews the lease on a housekeeping job until `nowSeconds + seconds`. One atomic
 * statement on both engines: the row is written only when it is new, expired, or already ours, and
 * RETURNING says whether it was. True means this host does the job now.
 */
export async function claimLease(db: Queryable, name: string, nowSeconds: number, seconds: number, holder: string = LEASE_HOLDER): Promise<boolean> {
  const until = nowSeconds + seconds;
  const row = await db
    .insertInto('housekeeping_leases')
    .values({ name, holder, until })
    .onConflict((conflict) =>
      conflict
        .column('name')
        .doUpdateSet({ holder, until })
        .where((eb) => eb.or([eb('housekeeping_leases.until', '<=', nowSeconds), eb('housekeeping_leases.holder', '=', holder)])),
    )
    .returning('holder')
    .executeTakeFirst();
  return row !== undefined;
}
