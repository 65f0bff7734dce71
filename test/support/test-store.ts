import { createHash, randomBytes } from 'node:crypto';
import { storeSchema, type StoreConfig } from '../../src/store/config-schema.ts';

/**
 * Which engine the suite runs on: test/run.mjs runs it once on SQLite (the default) and once on
 * PostgreSQL, started for the whole run (test/support/postgres-suite.ts), with
 * WEBISO_TEST_STORE=postgres, WEBISO_TEST_PG_URL and WEBISO_TEST_PG_PASSWORD_FILE set.
 */
export type TestEngine = 'sqlite' | 'postgres';

export function testEngine(): TestEngine {
  const value = process.env.WEBISO_TEST_STORE ?? 'sqlite';
  if (value !== 'sqlite' && value !== 'postgres') throw new Error(`WEBISO_TEST_STORE must be sqlite or postgres, got "${value}"`);
  return value;
}

/** The PostgreSQL server of this run; tests that need one of their own start it (test/support/postgres.ts). */
export function suitePostgres(): { url: string; passwordFile: string } {
  const url = process.env.WEBISO_TEST_PG_URL;
  const passwordFile = process.env.WEBISO_TEST_PG_PASSWORD_FILE;
  if (!url || !passwordFile) throw new Error('WEBISO_TEST_STORE=postgres needs WEBISO_TEST_PG_URL and WEBISO_TEST_PG_PASSWORD_FILE (test/run.mjs sets them)');
  return { url, passwordFile };
}

/**
 * The store of one test's data dir: an SQLite file in it, or a PostgreSQL schema named after it, so
 * a test that restarts on the same data dir finds its state again, and every new dir starts empty.
 */
export function testStoreConfig(dataDir: string, engine: TestEngine = testEngine()): StoreConfig {
  if (engine === 'sqlite') return { kind: 'sqlite' };
  return postgresStoreConfig(suitePostgres(), `t_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
}

export function postgresStoreConfig(server: { url: string; passwordFile: string }, schema = `t_${randomBytes(6).toString('hex')}`): StoreConfig {
  // the schema's own defaults (pool size, timeouts), as a config file would get them
  return storeSchema.parse({ kind: 'postgres', url: server.url, passwordFile: server.passwordFile, schema });
}
