import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.ts';

/** Stable event names: dashboards and alerts key on these, so they never change meaning. */
export type AuthEventName =
  | 'login.success'
  | 'login.failure'
  | 'login.throttled'
  | 'login.unavailable'
  | 'login.sso'
  | 'login.passive_failed'
  | 'grant.issued'
  | 'grant.error'
  | 'logout'
  | 'request.rejected'
  | 'csrf.rejected'
  | 'cas.ticket.issued'
  | 'cas.ticket.validated'
  | 'cas.ticket.refused'
  | 'oidc.authorized'
  | 'oidc.refused'
  | 'login.loop_stopped'
  | 'session.ended'
  | 'logout.delivery';

export interface AuthEvent {
  readonly event: AuthEventName;
  readonly username?: string | undefined;
  readonly clientIp?: string | undefined;
  readonly appId?: string | undefined;
  readonly flavor?: string | undefined;
  readonly verifier?: string | undefined;
  readonly detail?: string | undefined;
}

export interface AuditLog {
  /** Logs at once; the row is written with the others of this event-loop turn (one transaction). */
  record(event: AuthEvent, logger: FastifyBaseLogger): void;
  /** Writes pending rows now (before reading the table directly, and at shutdown). */
  flush(): void;
  /**
   * Resolves once every row recorded so far is committed. A response waits for it (group commit:
   * every request of one event-loop turn shares one transaction), so nothing is acknowledged whose
   * audit row a crash could still lose.
   */
  committed(): Promise<void>;
  recent(limit: number): Array<AuthEvent & { at: string }>;
}

/** Control characters are stripped so a crafted username cannot forge log lines or terminal escapes. */
function clean(value: string | undefined, max = 256): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD').slice(0, max);
}

/** `observe` sees every event as recorded (the metrics count there, src/ops/metric-feeds.ts). */
export function createAuditLog(db: Db, now: () => number, observe?: (event: AuthEvent) => void): AuditLog {
  const insert = db.prepare(
    'INSERT INTO auth_events (at, event, username, client_ip, app_id, flavor, verifier, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const selectRecent = db.prepare<[number], { at: string; event: AuthEventName; username: string | null; client_ip: string | null; app_id: string | null; flavor: string | null; verifier: string | null; detail: string | null }>(
    'SELECT at, event, username, client_ip, app_id, flavor, verifier, detail FROM auth_events ORDER BY id DESC LIMIT ?',
  );
  // One transaction per event-loop turn instead of one commit per row: on the SSO hot path the
  // per-row commits cost more than signing the grant. A crash loses at most this turn's rows.
  const pending: Array<Array<string | null>> = [];
  let scheduled = false;
  const insertAll = db.transaction((rows: Array<Array<string | null>>) => {
    for (const row of rows) insert.run(...row);
  });
  // Responses wait for the commit of the batch holding their rows (see `committed`).
  let waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  function flush(): void {
    scheduled = false;
    const waiting = waiters;
    waiters = [];
    try {
      if (pending.length > 0) insertAll(pending.splice(0));
    } catch (error) {
      waiting.forEach((waiter) => waiter.reject(error));
      throw error;
    }
    waiting.forEach((waiter) => waiter.resolve());
  }

  return {
    flush,
    committed() {
      if (!scheduled) return Promise.resolve();
      return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    record(event, logger) {
      observe?.(event);
      const at = new Date(now()).toISOString();
      const username = clean(event.username);
      const detail = clean(event.detail, 512);
      pending.push([at, event.event, username ?? null, event.clientIp ?? null, event.appId ?? null, event.flavor ?? null, event.verifier ?? null, detail ?? null]);
      if (!scheduled) {
        scheduled = true;
        // the waiting responses carry a failed commit (they answer an error); the timer itself must not throw
        setImmediate(() => {
          try {
            flush();
          } catch {
            /* reported through the waiters */
          }
        });
      }
      const level = event.event === 'login.success' || event.event === 'grant.issued' || event.event === 'login.sso' || event.event === 'logout' ? 'info' : 'warn';
      logger[level]({ event: event.event, username, clientIp: event.clientIp, appId: event.appId, flavor: event.flavor, verifier: event.verifier, detail }, event.event);
    },
    recent(limit) {
      flush();
      return selectRecent.all(limit).map((row) => ({
        at: row.at,
        event: row.event,
        username: row.username ?? undefined,
        clientIp: row.client_ip ?? undefined,
        appId: row.app_id ?? undefined,
        flavor: row.flavor ?? undefined,
        verifier: row.verifier ?? undefined,
        detail: row.detail ?? undefined,
      }));
    },
  };
}
