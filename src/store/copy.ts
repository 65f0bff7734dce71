import { sql, type Kysely } from 'kysely';
import type { Store } from './store.ts';
import type { Tables } from './tables.ts';

/**
 * What `webiso store copy` moves, in foreign-key order. Everything an installation would miss:
 * accounts and roles, machines with their whole history and sightings, keys and server secrets,
 * alerts, enrollment links, the audit trail. Left behind on purpose: SSO sessions and everything
 * tied to them (participants, pending logout deliveries), CAS tickets, OIDC artefacts, throttle
 * counters and housekeeping leases — all short-lived; people log in again after the move.
 */
export const COPIED_TABLES = [
  'users',
  'user_roles',
  'signing_keys',
  'server_secrets',
  'machines',
  'machine_events',
  'machine_settings',
  'machine_enrollments',
  'machine_alerts',
  'machine_ip_summary',
  'machine_sighting_hours',
  'machine_sightings',
  'admin_password_entries',
  'auth_events',
] as const satisfies ReadonlyArray<keyof Tables>;

export type CopiedTable = (typeof COPIED_TABLES)[number];

/** Tables whose `id` the database assigns: read in id order, and their sequences moved past the copy. */
const ID_TABLES = new Set<CopiedTable>(['machine_events', 'machine_alerts', 'machine_sightings', 'auth_events']);

const BATCH_ROWS = 500;

export class StoreCopyError extends Error {
  readonly code = 'STORE_COPY_REFUSED';
}

export interface CopyReport {
  readonly rows: Readonly<Record<CopiedTable, number>>;
}

async function assertEmpty(target: Kysely<Tables>): Promise<void> {
  for (const table of COPIED_TABLES) {
    const row = await target.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (Number(row.n) > 0) throw new StoreCopyError(`the target already holds rows in ${table}; copy only into a new, empty store`);
  }
}

/** Reads one table in batches (by id where it has one) and hands each batch to `write`. */
async function eachBatch(source: Kysely<Tables>, table: CopiedTable, write: (rows: Array<Record<string, unknown>>) => Promise<void>): Promise<number> {
  let copied = 0;
  if (!ID_TABLES.has(table)) {
    const rows = (await source.selectFrom(table).selectAll().execute()) as Array<Record<string, unknown>>;
    for (let start = 0; start < rows.length; start += BATCH_ROWS) await write(rows.slice(start, start + BATCH_ROWS));
    return rows.length;
  }
  const idTable = table as 'machine_events' | 'machine_alerts' | 'machine_sightings' | 'auth_events';
  let after = -1;
  for (;;) {
    const rows = (await source.selectFrom(idTable).selectAll().where('id', '>', after).orderBy('id').limit(BATCH_ROWS).execute()) as Array<Record<string, unknown> & { id: number }>;
    if (rows.length === 0) return copied;
    await write(rows);
    copied += rows.length;
    after = rows[rows.length - 1]!.id;
  }
}

/** PostgreSQL identity columns do not see explicit ids: move each sequence past the largest copied id. */
async function advanceSequences(target: Kysely<Tables>): Promise<void> {
  for (const table of ID_TABLES) {
    await sql`SELECT setval(pg_get_serial_sequence(${table}, 'id'), coalesce((SELECT max(id) FROM ${sql.table(table)}), 0) + 1, false)`.execute(target);
  }
}

/**
 * Copies a (possibly running) SQLite installation into an empty store, normally PostgreSQL. The
 * source is read inside one read transaction, a consistent snapshot that does not block the
 * running server's writes (WAL); the target is written in one transaction, so a failure leaves it
 * empty.
 */
export async function copyStore(source: Store, target: Store): Promise<CopyReport> {
  if (source.kind !== 'sqlite') throw new StoreCopyError('the source must be an SQLite store');
  await assertEmpty(target.db);
  const rows = {} as Record<CopiedTable, number>;
  await source.db.connection().execute(async (reader) => {
    // a deferred BEGIN: a snapshot for reading, no write lock (the store's own transactions are IMMEDIATE)
    await sql`BEGIN`.execute(reader);
    try {
      await target.transaction(async (writer) => {
        for (const table of COPIED_TABLES) {
          rows[table] = await eachBatch(reader, table, async (batch) => {
            await writer.insertInto(table).values(batch as never).execute();
          });
        }
        if (target.kind === 'postgres') await advanceSequences(writer);
      });
    } finally {
      await sql`COMMIT`.execute(reader);
    }
  });
  return { rows };
}
