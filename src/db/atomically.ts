import { adoptEngine } from '../store/prepared-query.ts';
import type { Queryable } from '../store/store.ts';

/**
 * Runs `work` in a transaction: the caller's, when `db` already is one (Kysely transactions do
 * not nest), else a new one. Lets a repository method that writes several rows be atomic on its
 * own and still take part in a caller's larger transaction.
 */
export function atomically<T>(db: Queryable, work: (trx: Queryable) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute((trx) => work(adoptEngine(trx, db)));
}
