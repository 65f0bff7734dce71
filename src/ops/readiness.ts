import type { WebisoServices } from '../services.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';
import { backendEndpoints, probeBackend, type ProbeResult } from './backend-probe.ts';

/**
 * `/readyz`: can this process serve logins right now? The database takes a write (rolled back),
 * both signing keys load, and the password back-end (LDAP, KDC) accepts a TCP connection. The
 * database and key checks give up after 1.5 s, so a stopped database is a quick 503; the back-end
 * result is cached (ops.readiness.backendCacheSeconds) and shared by concurrent probes.
 */
export interface CheckResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly [detail: string]: unknown;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, CheckResult>;
}

/** /readyz answers within ~2 s: a stopped PostgreSQL would otherwise hold the probe for the pool's connect timeout. */
const DATABASE_TIMEOUT_MS = 1500;
const KEYS_TIMEOUT_MS = 1500;

/** Thrown inside the probe's transaction to roll it back: nothing a probe writes is ever kept. */
class ProbeRollback extends Error {}

/**
 * Writes the probe's lease row in a transaction that is rolled back: a read-only file or database
 * (query_only, a PostgreSQL standby), a lost connection or a lock held by another writer fails here,
 * not on a login. BEGIN IMMEDIATE on SQLite takes the write lock as well.
 */
async function probeDatabase(services: WebisoServices): Promise<CheckResult> {
  try {
    await services.store.transaction(async (trx) => {
      await trx
        .insertInto('housekeeping_leases')
        .values({ name: 'readiness-probe', holder: 'readiness-probe', until: 0 })
        .onConflict((conflict) => conflict.column('name').doUpdateSet({ until: 0 }))
        .execute();
      throw new ProbeRollback();
    });
    return { ok: false, error: 'not rolled back' };
  } catch (error) {
    if (error instanceof ProbeRollback) return { ok: true };
    return { ok: false, error: errorCode(error) };
  }
}

/** An error code for operators (SQLITE_READONLY, ECONNREFUSED, 57P01 …), never a message with addresses in it. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return isStoreUnavailable(error) ? 'unavailable' : 'error';
}

/** The check's answer, or `timeout` once `ms` have passed (the check itself runs on and is reused). */
function within(check: Promise<CheckResult>, ms: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: 'timeout' }), ms);
  });
  return Promise.race([check, late]).finally(() => clearTimeout(timer));
}

async function checkKeys(services: WebisoServices): Promise<CheckResult> {
  try {
    const grant = await services.keystore.activeKey('grant');
    const machine = await services.keystore.activeKey('machine');
    return { ok: true, grantKid: grant.kid, machineKid: machine.kid };
  } catch {
    return { ok: false, error: 'signing key missing' };
  }
}

function backendCheck(kind: string, results: readonly ProbeResult[]): CheckResult {
  const ok = results.some((result) => result.ok);
  const failures = results.filter((result) => !result.ok).map((result) => `${result.target}: ${'error' in result ? result.error : ''}`);
  return ok ? { ok, kind, target: results.find((result) => result.ok)?.target } : { ok, kind, error: failures.join('; ') || 'no endpoint' };
}

export function createReadiness(services: WebisoServices): () => Promise<Readiness> {
  const { readiness } = services.config.ops;
  let cached: { at: number; result: Promise<CheckResult> } | undefined;

  async function probe(): Promise<CheckResult> {
    const { kind } = services.config.verifier;
    const endpoints = backendEndpoints(services.config.verifier);
    if ('error' in endpoints) return { ok: false, kind, error: endpoints.error };
    if (endpoints.length === 0) return { ok: true, kind };
    return backendCheck(kind, await probeBackend(endpoints, readiness.backendTimeoutSeconds * 1000));
  }

  function checkBackend(): Promise<CheckResult> {
    const now = Date.now();
    if (!cached || now - cached.at >= readiness.backendCacheSeconds * 1000) cached = { at: now, result: probe() };
    return cached.result;
  }

  // probes that pile up behind a stalled database share the one in flight instead of opening more
  let databaseProbe: Promise<CheckResult> | undefined;
  function checkDatabase(): Promise<CheckResult> {
    databaseProbe ??= probeDatabase(services).finally(() => (databaseProbe = undefined));
    return within(databaseProbe, DATABASE_TIMEOUT_MS);
  }

  return async () => {
    const [database, keys, backend] = await Promise.all([checkDatabase(), within(checkKeys(services), KEYS_TIMEOUT_MS), checkBackend()]);
    const checks = { database, keys, backend };
    return { ready: Object.values(checks).every((check) => check.ok), checks };
  };
}
