import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { migrate, openDatabase, type Db } from '../db/database.ts';
import type { StoreConfig } from './config-schema.ts';
import { migratePostgres } from './migrate-postgres.ts';
import { adoptEngine, registerEngine } from './prepared-query.ts';
import { createPostgresPool } from './postgres-pool.ts';
import { WebisoSqliteDialect } from './sqlite-dialect.ts';
import type { Tables } from './tables.ts';

/** A connection or a transaction: repositories take either, so they run inside a caller's transaction. */
export type Queryable = Kysely<Tables>;

export type StoreKind = StoreConfig['kind'];

/**
 * Where webiso keeps its state: one SQLite file (the embedded default) or a PostgreSQL database
 * shared by several hosts. Every repository speaks Kysely to `db`, so both engines run the same
 * typed queries; the few engine-specific details (SKIP LOCKED, checkpoints) ask `kind`.
 */
export interface Store {
  readonly kind: StoreKind;
  readonly db: Queryable;
  /** One transaction (IMMEDIATE on SQLite, READ COMMITTED on PostgreSQL); keep it short, nothing but queries inside. */
  transaction<T>(work: (trx: Queryable) => Promise<T>): Promise<T>;
  /** the SQLite handle (checkpoints, integrity checks); undefined on PostgreSQL */
  readonly sqlite: Db | undefined;
  /** the PostgreSQL pool; undefined on SQLite */
  readonly pool: pg.Pool | undefined;
  close(): Promise<void>;
}

function wrap(kind: StoreKind, db: Kysely<Tables>, handles: { sqlite?: Db; pool?: pg.Pool }): Store {
  let closed = false;
  // prepared queries (src/store/prepared-query.ts) bind to the compiled text of this engine
  registerEngine(db, kind);
  return {
    kind,
    db,
    transaction: (work) => db.transaction().execute((trx) => work(adoptEngine(trx, db))),
    sqlite: handles.sqlite,
    pool: handles.pool,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/** Opens an SQLite file (created and migrated if needed) as a store; tests and the CLI use it directly. */
export function openSqliteStore(path: string): Store {
  const sqlite = openDatabase(path);
  migrate(sqlite);
  return wrap('sqlite', new Kysely<Tables>({ dialect: new WebisoSqliteDialect(sqlite) }), { sqlite });
}

/** Opens the configured store and applies its engine's pending migrations. */
export async function openStore(config: { store: StoreConfig; dataDir: string }): Promise<Store> {
  const store = config.store;
  if (store.kind === 'sqlite') return openSqliteStore(store.path ?? join(config.dataDir, 'webiso.db'));
  const pool = createPostgresPool(store);
  try {
    await migratePostgres(pool, store.schema);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return wrap('postgres', new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) }), { pool });
}
