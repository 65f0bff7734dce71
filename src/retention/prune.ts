import type { Db } from '../db/database.ts';
import type { RetentionConfig } from './config-schema.ts';

export interface PruneResult {
  readonly sightings: number;
  readonly auditRows: number;
}

const DAY = 86_400;

/**
 * Deletes sightings and audit rows older than the retention, `batchRows` at a time, yielding to
 * the event loop between batches so requests keep flowing. The per-address summaries stay: "which
 * addresses has this machine used, and when first and last" survives the pruning of the rows.
 */
export async function pruneOldRows(db: Db, retention: RetentionConfig, nowSeconds: number): Promise<PruneResult> {
  const deleteSightings = db.prepare('DELETE FROM machine_sightings WHERE id IN (SELECT id FROM machine_sightings WHERE at < ? ORDER BY at LIMIT ?)');
  const deleteAudit = db.prepare('DELETE FROM auth_events WHERE id IN (SELECT id FROM auth_events WHERE at < ? ORDER BY at LIMIT ?)');
  const run = async (statement: typeof deleteSightings, cutoff: number | string) => {
    let total = 0;
    for (;;) {
      const { changes } = statement.run(cutoff, retention.batchRows);
      total += changes;
      if (changes < retention.batchRows) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const sightings = retention.sightingsDays === undefined ? 0 : await run(deleteSightings, nowSeconds - retention.sightingsDays * DAY);
  const auditRows = retention.auditDays === undefined ? 0 : await run(deleteAudit, new Date((nowSeconds - retention.auditDays * DAY) * 1000).toISOString());
  return { sightings, auditRows };
}
