import { claimLease, LEASE_HOLDER } from '../store/lease.ts';
import type { Queryable, Store } from '../store/store.ts';
import type { RetentionConfig } from './config-schema.ts';

export interface PruneResult {
  /** false when another host holds the retention lease (or retention is off): nothing was deleted here */
  readonly ran: boolean;
  readonly sightings: number;
  readonly auditRows: number;
}

const DAY = 86_400;
export const RETENTION_LEASE = 'retention';
/** Longer than a run usually takes; still held is checked before every further batch. */
const LEASE_SECONDS = 300;

type Batch = (db: Queryable, limit: number) => Promise<bigint>;

const sightingsBefore = (cutoff: number): Batch => async (db, limit) => {
  const result = await db
    .deleteFrom('machine_sightings')
    .where('id', 'in', (eb) => eb.selectFrom('machine_sightings').select('id').where('at', '<', cutoff).orderBy('at').limit(limit))
    .executeTakeFirst();
  return result.numDeletedRows;
};

/** auth_events.at is ISO 8601 UTC text: it sorts like the time it names. */
const auditBefore = (cutoff: string): Batch => async (db, limit) => {
  const result = await db
    .deleteFrom('auth_events')
    .where('id', 'in', (eb) => eb.selectFrom('auth_events').select('id').where('at', '<', cutoff).orderBy('at').limit(limit))
    .executeTakeFirst();
  return result.numDeletedRows;
};

/**
 * Deletes sightings and audit rows older than the retention, `batchRows` at a time (one short
 * statement each, `DELETE … WHERE id IN (SELECT id … LIMIT n)` on both engines), yielding to the
 * event loop between batches so requests keep flowing. The per-address summaries and the hourly
 * rollup stay: "which addresses has this machine used, and when first and last" survives the
 * pruning of the rows. Every host's housekeeping calls this; the `retention` lease
 * (src/store/lease.ts), taken here, lets one host at a time do the work. `holder` names this host in
 * the lease (tests run two hosts in one process).
 */
export async function pruneOldRows(store: Store, retention: RetentionConfig, nowSeconds: number, holder: string = LEASE_HOLDER): Promise<PruneResult> {
  if (retention.sightingsDays === undefined && retention.auditDays === undefined) return { ran: false, sightings: 0, auditRows: 0 };
  const holdsLease = () => claimLease(store.db, RETENTION_LEASE, nowSeconds, LEASE_SECONDS, holder);
  if (!(await holdsLease())) return { ran: false, sightings: 0, auditRows: 0 };
  const run = async (batch: Batch) => {
    let total = 0;
    for (;;) {
      const deleted = Number(await batch(store.db, retention.batchRows));
      total += deleted;
      if (deleted < retention.batchRows) return total;
      await new Promise((resolve) => setImmediate(resolve));
      // another host took over (this one stalled past the lease): leave the rest to it
      if (!(await holdsLease())) return total;
    }
  };
  const sightings = retention.sightingsDays === undefined ? 0 : await run(sightingsBefore(nowSeconds - retention.sightingsDays * DAY));
  const auditRows = retention.auditDays === undefined ? 0 : await run(auditBefore(new Date((nowSeconds - retention.auditDays * DAY) * 1000).toISOString()));
  return { ran: true, sightings, auditRows };
}
