import type { FastifyBaseLogger } from 'fastify';
import type { Insertable } from 'kysely';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

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
  /** Writes pending rows now (before reading the table directly, and at shutdown); resolves once they are committed. */
  flush(): Promise<void>;
  /**
   * Resolves once every row recorded so far is committed, rejects if their commit failed. A
   * response waits for it (group commit: every request of one event-loop turn shares one
   * transaction), so nothing is acknowledged whose audit row a crash could still lose.
   */
  committed(): Promise<void>;
  recent(limit: number): Promise<Array<AuthEvent & { at: string }>>;
}

/** Control characters are stripped so a crafted username cannot forge log lines or terminal escapes. */
function clean(value: string | undefined, max = 256): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD').slice(0, max);
}

type AuditRow = Insertable<Tables['auth_events']>;

/** Rows per INSERT: far below SQLite's 32766 and PostgreSQL's 65535 bound parameters (8 per row). */
const ROWS_PER_STATEMENT = 500;

/** Rows recorded but not yet sent, and the promise their commit settles. */
interface Batch {
  readonly rows: AuditRow[];
  readonly done: Promise<void>;
  readonly settle: (error?: unknown) => void;
  /** a logger of one of the batch's requests, to report a failed commit nobody waits for */
  readonly log: FastifyBaseLogger;
}

function newBatch(log: FastifyBaseLogger): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  // nobody may be waiting (a background job's row): the failure is logged, never unhandled
  done.catch(() => undefined);
  return { rows: [], done, log, settle: (error) => (error === undefined ? resolve() : reject(error)) };
}

/**
 * `db` is the store's connection; `observe` sees every event as recorded (the metrics count
 * there, src/ops/metric-feeds.ts).
 */
export function createAuditLog(db: Queryable, now: () => number, observe?: (event: AuthEvent) => void): AuditLog {
  // One transaction per event-loop turn instead of one commit per row: on the SSO hot path the
  // per-row commits cost more than signing the grant. A crash loses at most the uncommitted batch,
  // and no response acknowledged it. One batch is committed at a time; rows recorded meanwhile
  // form the next batch (under load one commit then covers several turns), so ids follow time.
  let next: Batch | undefined;
  let sending: Batch | undefined;

  async function write(rows: AuditRow[]): Promise<void> {
    const chunks: AuditRow[][] = [];
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) chunks.push(rows.slice(i, i + ROWS_PER_STATEMENT));
    if (chunks.length === 1) {
      await db.insertInto('auth_events').values(chunks[0]!).execute();
      return;
    }
    await db.transaction().execute(async (trx) => {
      for (const chunk of chunks) await trx.insertInto('auth_events').values(chunk).execute();
    });
  }

  function send(): void {
    if (sending || !next) return;
    const batch = (sending = next);
    next = undefined;
    write(batch.rows).then(
      () => batch.settle(),
      (error: unknown) => {
        const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
        batch.log.error({ event: 'audit.commit_failed', rows: batch.rows.length, err: { code, message } }, 'audit rows could not be committed');
        batch.settle(error ?? new Error('audit commit failed'));
      },
    ).finally(() => {
      sending = undefined;
      send();
    });
  }

  function committed(): Promise<void> {
    return (next ?? sending)?.done ?? Promise.resolve();
  }

  function flush(): Promise<void> {
    send();
    return committed();
  }

  return {
    flush,
    committed,
    record(event, logger) {
      observe?.(event);
      const at = new Date(now()).toISOString();
      const username = clean(event.username);
      const detail = clean(event.detail, 512);
      if (!next) {
        next = newBatch(logger);
        setImmediate(send);
      }
      next.rows.push({ at, event: event.event, username: username ?? null, client_ip: event.clientIp ?? null, app_id: event.appId ?? null, flavor: event.flavor ?? null, verifier: event.verifier ?? null, detail: detail ?? null });
      const level = event.event === 'login.success' || event.event === 'grant.issued' || event.event === 'login.sso' || event.event === 'logout' ? 'info' : 'warn';
      logger[level]({ event: event.event, username, clientIp: event.clientIp, appId: event.appId, flavor: event.flavor, verifier: event.verifier, detail }, event.event);
    },
    async recent(limit) {
      await flush();
      const rows = await db.selectFrom('auth_events').select(['at', 'event', 'username', 'client_ip', 'app_id', 'flavor', 'verifier', 'detail']).orderBy('id', 'desc').limit(limit).execute();
      return rows.map((row) => ({
        at: row.at,
        event: row.event as AuthEventName,
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
