import type { WebisoServices } from '../services.ts';
import { backendEndpoints, probeBackend, type ProbeResult } from './backend-probe.ts';

/**
 * `/readyz`: can this process serve logins right now? The database takes a write lock, both
 * signing keys load, and the password back-end (LDAP, KDC) accepts a TCP connection. The back-end
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

function checkDatabase(services: WebisoServices): CheckResult {
  try {
    // BEGIN IMMEDIATE takes the write lock: a read-only or locked-up file fails here, not on a login.
    services.db.exec('BEGIN IMMEDIATE');
    services.db.exec('ROLLBACK');
    return { ok: true };
  } catch (error) {
    if (services.db.inTransaction) services.db.exec('ROLLBACK');
    return { ok: false, error: (error as { code?: string }).code ?? 'error' };
  }
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

  return async () => {
    const [keys, backend] = await Promise.all([checkKeys(services), checkBackend()]);
    const checks = { database: checkDatabase(services), keys, backend };
    return { ready: Object.values(checks).every((check) => check.ok), checks };
  };
}
