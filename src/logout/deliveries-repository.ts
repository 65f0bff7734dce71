import type { Selectable } from 'kysely';
import { atomically } from '../db/atomically.ts';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

/** backchannel: a native logout token; cas: a SAML LogoutRequest; oidc: an OIDC logout token (src/oidc/logout-token.ts). */
export type DeliveryChannel = 'backchannel' | 'cas' | 'oidc';

export interface NewDelivery {
  readonly sid: string;
  readonly appId: string;
  readonly channel: DeliveryChannel;
  readonly url: string;
  readonly subject: string;
  readonly kind: 'user' | 'machine';
  readonly casTicket?: string | null | undefined;
  readonly reason: string;
}

export interface Delivery extends NewDelivery {
  readonly id: number;
  readonly attempts: number;
  readonly giveUpAt: number;
  readonly createdAt: number;
}

const DELIVERY_COLUMNS = ['id', 'sid', 'app_id', 'channel', 'url', 'subject', 'kind', 'cas_ticket', 'reason', 'attempts', 'give_up_at', 'created_at'] as const;
type DeliveryRow = Pick<Selectable<Tables['logout_deliveries']>, (typeof DELIVERY_COLUMNS)[number]>;

const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  sid: row.sid,
  appId: row.app_id,
  channel: row.channel,
  url: row.url,
  subject: row.subject,
  kind: row.kind,
  casTicket: row.cas_ticket,
  reason: row.reason,
  attempts: row.attempts,
  giveUpAt: row.give_up_at,
  createdAt: row.created_at,
});

export interface AppDeliveryHealth {
  readonly appId: string;
  readonly pending: number;
  readonly failed: number;
  readonly lastError: string | null;
  readonly lastAttemptAt: number | null;
}

export interface ClaimOptions {
  /** PostgreSQL: lock the rows FOR UPDATE SKIP LOCKED, so hosts claiming at once take different rows instead of waiting */
  readonly skipLocked: boolean;
}

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * Marks due rows as taken (next_attempt_at moves to the lease's end) and returns the rows this
 * call took. The UPDATE repeats the "due" condition and returns what it changed: a row another
 * host took in the meantime no longer matches (PostgreSQL re-checks a row it waited for), so no
 * row is ever handed to two hosts, even without SKIP LOCKED.
 */
async function claim(trx: Queryable, nowSeconds: number, limit: number, leaseUntil: number, { skipLocked }: ClaimOptions): Promise<Delivery[]> {
  const due = await trx
    .selectFrom('logout_deliveries')
    .select('id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', nowSeconds)
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(limit)
    .$if(skipLocked, (query) => query.forUpdate().skipLocked())
    .execute();
  if (due.length === 0) return [];
  const taken = await trx
    .updateTable('logout_deliveries')
    .set({ next_attempt_at: leaseUntil })
    .where(
      'id',
      'in',
      due.map((row) => row.id),
    )
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', nowSeconds)
    .returning(DELIVERY_COLUMNS)
    .execute();
  return taken.sort((a, b) => a.id - b.id).map(toDelivery);
}

export type DeliveriesRepository = ReturnType<typeof createDeliveriesRepository>;

/** The logout outbox. `db` is the store or a caller's transaction (enqueue runs in the one that ends the session). */
export function createDeliveriesRepository(db: Queryable) {
  return {
    async enqueue(delivery: NewDelivery, nowSeconds: number, giveUpAt: number): Promise<void> {
      await db
        .insertInto('logout_deliveries')
        .values({
          sid: delivery.sid,
          app_id: delivery.appId,
          channel: delivery.channel,
          url: delivery.url,
          subject: delivery.subject,
          kind: delivery.kind,
          cas_ticket: delivery.casTicket ?? null,
          reason: delivery.reason,
          next_attempt_at: nowSeconds,
          give_up_at: giveUpAt,
          created_at: nowSeconds,
        })
        .execute();
    },
    /**
     * Due deliveries, leased until `leaseUntil` so a slow attempt is not started twice: claimed by
     * one host only (one IMMEDIATE transaction on SQLite; on PostgreSQL row locks and the UPDATE's re-check).
     */
    async claimDue(nowSeconds: number, limit: number, leaseUntil: number, options: ClaimOptions): Promise<Delivery[]> {
      return atomically(db, (trx) => claim(trx, nowSeconds, limit, leaseUntil, options));
    },
    async markDelivered(id: number, nowSeconds: number): Promise<void> {
      await db
        .updateTable('logout_deliveries')
        .set((eb) => ({ status: 'delivered', attempts: eb('attempts', '+', 1), delivered_at: nowSeconds, last_error: null }))
        .where('id', '=', id)
        .execute();
    },
    async markRetry(id: number, nextAttemptAt: number, error: string): Promise<void> {
      await db
        .updateTable('logout_deliveries')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: nextAttemptAt, last_error: error.slice(0, 300) }))
        .where('id', '=', id)
        .execute();
    },
    async markFailed(id: number, error: string): Promise<void> {
      await db
        .updateTable('logout_deliveries')
        .set((eb) => ({ status: 'failed', attempts: eb('attempts', '+', 1), last_error: error.slice(0, 300) }))
        .where('id', '=', id)
        .execute();
    },
    /** Apps whose deliveries are failing or gave up (the admin pages show them). */
    async health(): Promise<AppDeliveryHealth[]> {
      const rows = await db
        .selectFrom('logout_deliveries as d')
        .select((eb) => [
          'd.app_id',
          // literals, not parameters: PostgreSQL would type CASE … THEN $1 as text
          eb.fn.sum<number>(eb.case().when(eb.and([eb('d.status', '=', 'pending'), eb('d.attempts', '>', 0)])).then(eb.lit(1)).else(eb.lit(0)).end()).as('pending'),
          eb.fn.sum<number>(eb.case().when('d.status', '=', 'failed').then(eb.lit(1)).else(eb.lit(0)).end()).as('failed'),
          eb
            .selectFrom('logout_deliveries as l')
            .select('l.last_error')
            .whereRef('l.app_id', '=', 'd.app_id')
            .where('l.last_error', 'is not', null)
            .orderBy('l.id', 'desc')
            .limit(1)
            .as('last_error'),
          eb.fn.max(eb.case().when('d.attempts', '>', 0).then(eb.ref('d.next_attempt_at')).end()).as('last_attempt_at'),
        ])
        .where('d.status', '!=', 'delivered')
        .groupBy('d.app_id')
        .orderBy('d.app_id')
        .execute();
      return rows
        .map((row) => ({ appId: row.app_id, pending: Number(row.pending), failed: Number(row.failed), lastError: row.last_error ?? null, lastAttemptAt: nullableNumber(row.last_attempt_at) }))
        .filter((row) => row.pending > 0 || row.failed > 0);
    },
    async purgeFinishedBefore(nowSeconds: number): Promise<number> {
      const result = await db.deleteFrom('logout_deliveries').where('status', '!=', 'pending').where('created_at', '<', nowSeconds).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
