import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../ops/package-root.ts';

export type Db = Database.Database;

export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations', 'sqlite');

/** How long a statement waits for another process's write lock before it fails with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Every transaction begins IMMEDIATE: webiso's transactions all write, and a deferred one that
 * read first cannot wait for the write lock (SQLite refuses the upgrade at once, busy timeout or
 * not, when another process committed meanwhile). Taking the lock up front makes it wait instead.
 * Nested transactions still become savepoints.
 */
function immediateTransactions(db: Db): void {
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: Parameters<Db['transaction']>[0]) => transaction(fn).immediate) as Db['transaction'];
}

export function openDatabase(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // The busy timeout comes with the connection, before the first pragma: switching to WAL needs
  // the lock too, and other processes (the CLI, the server) use the same file.
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Checkpoints (the only fsyncs in WAL + NORMAL) run on the committing request; make them rare.
  // The server also checkpoints from its housekeeping timer, off the request path.
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('foreign_keys = ON');
  // 64 MiB of page cache per connection (SQLite's default is 2 MiB): the sighting and audit indexes of a
  // large installation stay in memory for the admin pages and retention's deletes.
  db.pragma('cache_size = -65536');
  immediateTransactions(db);
  return db;
}

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

function readMigrations(dir: string): Migration[] {
  return readdirSync(dir)
    .filter((name) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => ({ version: Number.parseInt(name, 10), name, sql: readFileSync(join(dir, name), 'utf8') }));
}

/**
 * Applies forward-only numbered migrations, each in its own transaction. Returns the names applied.
 * Several processes may start at once on a new database: each migration is checked again inside
 * its (immediate) transaction, so exactly one of them applies it.
 */
export function migrate(db: Db, dir: string = MIGRATIONS_DIR): string[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const apply = db.transaction((migration: Migration): boolean => {
    if (isApplied.get(migration.version) !== undefined) return false;
    db.exec(migration.sql);
    record.run(migration.version, migration.name, new Date().toISOString());
    return true;
  });
  const done: string[] = [];
  for (const migration of readMigrations(dir)) {
    if (isApplied.get(migration.version) === undefined && apply(migration)) done.push(migration.name);
  }
  return done;
}

export function openAndMigrate(dataDir: string): Db {
  const db = openDatabase(join(dataDir, 'webiso.db'));
  migrate(db);
  return db;
}
