import type { FastifyBaseLogger } from 'fastify';
import type { AuditLog } from '../audit/auth-events.ts';
import type { WebisoConfig } from '../config/schema.ts';
import type { Keystore } from '../keys/keystore.ts';
import type { StoreKind } from '../store/store.ts';
import { casLogoutRequestBody } from './cas-logout-request.ts';
import type { DeliveriesRepository, Delivery } from './deliveries-repository.ts';
import { signLogoutToken } from './logout-token.ts';
import { signOidcLogoutToken } from '../oidc/logout-token.ts';

export interface DelivererDeps {
  readonly config: WebisoConfig;
  readonly keystore: Keystore;
  readonly deliveries: DeliveriesRepository;
  readonly audit: AuditLog;
  readonly now: () => number;
  /** the engine behind `deliveries` (PostgreSQL claims with SKIP LOCKED); config.store.kind when absent */
  readonly storeKind?: StoreKind | undefined;
}

export interface LogoutDeliverer {
  /** Runs a delivery pass soon (after the ending transaction committed); never blocks the caller. */
  kick(): void;
  /** One pass over the due deliveries; resolves when their attempts are done. */
  runOnce(): Promise<number>;
  setLogger(log: FastifyBaseLogger): void;
  /** Waits for attempts in flight (shutdown). */
  drain(): Promise<void>;
}

const BATCH = 50;
/** First retry after 5 s, doubling up to every 10 minutes, until logout.retryForSeconds has passed. */
const FIRST_RETRY_SECONDS = 5;
const MAX_RETRY_SECONDS = 600;

export function retryDelaySeconds(attemptsSoFar: number): number {
  return Math.min(FIRST_RETRY_SECONDS * 2 ** attemptsSoFar, MAX_RETRY_SECONDS);
}

type AttemptOutcome = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly error: string };

function requestOf(deps: DelivererDeps, delivery: Delivery): { body: string } {
  const nowSeconds = Math.floor(deps.now() / 1000);
  if (delivery.channel === 'cas') return { body: casLogoutRequestBody(delivery.casTicket ?? '', delivery.subject, new Date(deps.now())) };
  if (delivery.channel === 'oidc') return { body: new URLSearchParams({ logout_token: signOidcLogoutToken(deps.keystore, deps.config, delivery, nowSeconds) }).toString() };
  const token = signLogoutToken(deps.keystore, { issuer: deps.config.issuer, appId: delivery.appId, sid: delivery.sid, subject: delivery.subject, kind: delivery.kind, nowSeconds });
  return { body: new URLSearchParams({ logout_token: token }).toString() };
}

/** Back-channel: 200 or 204. CAS services answer their own way (mod_auth_cas: 302): any 2xx or 3xx. */
function accepted(delivery: Delivery, status: number): boolean {
  return delivery.channel === 'cas' ? status >= 200 && status < 400 : status === 200 || status === 204;
}

async function attempt(deps: DelivererDeps, delivery: Delivery): Promise<AttemptOutcome> {
  try {
    const response = await fetch(delivery.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' },
      body: requestOf(deps, delivery).body,
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.config.logout.deliveryTimeoutSeconds * 1000),
    });
    await response.body?.cancel();
    return accepted(delivery, response.status) ? { ok: true, status: response.status } : { ok: false, error: `HTTP ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, error: error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : (cause ?? (error instanceof Error ? error.message : String(error))) };
  }
}

/**
 * Sends the logout outbox: each due row is leased, attempted with a short timeout, and marked
 * delivered, retried with backoff, or given up after logout.retryForSeconds. Every attempt is audited.
 * Every host runs it; the claim hands each row to one host only, so an app is told once.
 */
export function createLogoutDeliverer(deps: DelivererDeps): LogoutDeliverer {
  const storeKind = deps.storeKind ?? deps.config.store.kind;
  let log: FastifyBaseLogger | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  const inFlight = new Set<Promise<unknown>>();

  async function settle(delivery: Delivery): Promise<void> {
    const outcome = await attempt(deps, delivery);
    const nowSeconds = Math.floor(deps.now() / 1000);
    const attemptNumber = delivery.attempts + 1;
    let result: string;
    if (outcome.ok) {
      await deps.deliveries.markDelivered(delivery.id, nowSeconds);
      result = `delivered status=${outcome.status}`;
    } else if (nowSeconds + retryDelaySeconds(delivery.attempts) > delivery.giveUpAt) {
      await deps.deliveries.markFailed(delivery.id, outcome.error);
      result = `gave_up error=${outcome.error}`;
    } else {
      await deps.deliveries.markRetry(delivery.id, nowSeconds + retryDelaySeconds(delivery.attempts), outcome.error);
      result = `retry error=${outcome.error}`;
    }
    if (log) {
      deps.audit.record({ event: 'logout.delivery', username: delivery.subject, appId: delivery.appId, detail: `channel=${delivery.channel} attempt=${attemptNumber} ${result}` }, log);
    }
  }

  async function pass(): Promise<number> {
    const nowSeconds = Math.floor(deps.now() / 1000);
    const leaseUntil = nowSeconds + Math.ceil(deps.config.logout.deliveryTimeoutSeconds) + 5;
    const due = await deps.deliveries.claimDue(nowSeconds, BATCH, leaseUntil, { skipLocked: storeKind === 'postgres' });
    // an outcome that cannot be written (the database went away) is logged; the row's lease runs out and it is tried again
    const attempts = due.map((delivery) => settle(delivery).catch((error: unknown) => log?.error({ event: 'server.error', err: error }, 'logout delivery outcome not recorded')));
    attempts.forEach((p) => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    });
    await Promise.allSettled(attempts);
    return due.length;
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      do {
        again = false;
        total += await pass();
      } while (again);
      return total;
    })().finally(() => (running = undefined));
    return running;
  }

  return {
    kick() {
      const kicked = new Promise((resolve) => setImmediate(resolve))
        .then(() => runOnce())
        .catch((error: unknown) => log?.error({ event: 'server.error', err: error }, 'logout delivery pass failed'));
      // drain() waits for a kick that has not started its pass yet
      inFlight.add(kicked);
      void kicked.finally(() => inFlight.delete(kicked));
    },
    runOnce,
    setLogger(logger) {
      log = logger;
    },
    async drain() {
      await Promise.allSettled([...inFlight]);
      if (running) await running.catch(() => undefined);
    },
  };
}
