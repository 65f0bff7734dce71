import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { PACKAGE_ROOT } from '../ops/package-root.ts';

export const POSTGRES_MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations', 'postgres');

/** Any fixed number: every webiso host takes this advisory lock while it migrates. */
const MIGRATION_LOCK = 0x77656269; // "webi"

function readMigrations(dir: string) {
  return readdirSync(dir)
    .filter((name) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => ({ version: Number.parseInt(name, 10), name, sql: readFileSync(join(dir, name), 'utf8') }));
}

/**
 * Forward-only numbered migrations for PostgreSQL, each in its own transaction. Hosts starting at
 * once queue on an advisory lock, so exactly one applies each migration. Returns the names applied.
 */
export async function migratePostgres(pool: pg.Pool, schema: string, dir: string = POSTGRES_MIGRATIONS_DIR): Promise<string[]> {
  const client = await pool.connect();
  const done: string[] = [];
  try {
    // a session lock for the whole run: CREATE … IF NOT EXISTS races between hosts too
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const migration of readMigrations(dir)) {
      await client.query('BEGIN');
      try {
        const applied = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
        if (applied.rowCount === 0) {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, new Date().toISOString()]);
          done.push(migration.name);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    client.release();
  }
  return done;
}
