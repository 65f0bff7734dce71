import pg from 'pg';
import { readSecretFile } from '../config/load.ts';
import type { PostgresStoreConfig } from './config-schema.ts';

const INT8 = 20;
const NUMERIC = 1700;

/**
 * BIGINT columns (unix seconds, counters, ids) and count(*) come back from pg as strings so that
 * values beyond 2^53 survive; webiso's never get there, so they are numbers as on SQLite.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * The URL's parts as separate settings: pg's own `connectionString` parsing would set the
 * (absent) password to '' and override the one read from passwordFile.
 */
function urlSettings(value: string | undefined): pg.PoolConfig {
  if (value === undefined) return {};
  const url = new URL(value);
  return {
    ...(url.hostname === '' ? {} : { host: decodeURIComponent(url.hostname) }),
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    ...(url.pathname.length > 1 ? { database: decodeURIComponent(url.pathname.slice(1)) } : {}),
    ...(url.username === '' ? {} : { user: decodeURIComponent(url.username) }),
  };
}

/** A pg pool for the configured server; every connection uses webiso's schema and statement timeout. */
export function createPostgresPool(config: PostgresStoreConfig): pg.Pool {
  const pool = new pg.Pool({
    ...urlSettings(config.url),
    ...(config.host === undefined ? {} : { host: config.host }),
    ...(config.port === undefined ? {} : { port: config.port }),
    ...(config.database === undefined ? {} : { database: config.database }),
    ...(config.user === undefined ? {} : { user: config.user }),
    ...(config.passwordFile === undefined ? {} : { password: readSecretFile(config.passwordFile, 'store.passwordFile') }),
    ...(config.tls === undefined ? {} : { ssl: config.tls.caFile === undefined ? { rejectUnauthorized: true } : { rejectUnauthorized: true, ca: readSecretFile(config.tls.caFile, 'store.tls.caFile') } }),
    max: config.pool.max,
    connectionTimeoutMillis: Math.round(config.pool.connectionTimeoutSeconds * 1000),
    statement_timeout: Math.round(config.pool.statementTimeoutSeconds * 1000),
    options: `-c search_path=${config.schema}`,
    application_name: 'webiso',
    types,
  });
  // An idle client losing its server (PostgreSQL restarted) must not crash the process; the next
  // query gets a fresh connection and /readyz reports the outage meanwhile.
  pool.on('error', () => {});
  // The same for a connection checked out between two statements of a transaction when the server
  // goes away (57P01 on shutdown): without a listener pg would throw it as an uncaught exception;
  // with one, the transaction's next statement fails, and its request answers 503.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
