import type { Db } from '../db/database.ts';

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

interface DeliveryRow {
  id: number;
  sid: string;
  app_id: string;
  channel: DeliveryChannel;
  url: string;
  subject: string;
  kind: 'user' | 'machine';
  cas_ticket: string | null;
  reason: string;
  attempts: number;
  give_up_at: number;
  created_at: number;
}

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

export type DeliveriesRepository = ReturnType<typeof createDeliveriesRepository>;

/** The logout outbox. */
export function createDeliveriesRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO logout_deliveries (sid, app_id, channel, url, subject, kind, cas_ticket, reason, next_attempt_at, give_up_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const due = db.prepare<[number, number], DeliveryRow>(
    "SELECT id, sid, app_id, channel, url, subject, kind, cas_ticket, reason, attempts, give_up_at, created_at FROM logout_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
  );
  const lease = db.prepare("UPDATE logout_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending'");
  const delivered = db.prepare("UPDATE logout_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE id = ?");
  const retry = db.prepare('UPDATE logout_deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?');
  const failed = db.prepare("UPDATE logout_deliveries SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?");
  const health = db.prepare<[], { app_id: string; pending: number; failed: number; last_error: string | null; last_attempt_at: number | null }>(
    `SELECT app_id,
            sum(status = 'pending' AND attempts > 0) AS pending,
            sum(status = 'failed') AS failed,
            (SELECT last_error FROM logout_deliveries l WHERE l.app_id = d.app_id AND l.last_error IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_error,
            max(CASE WHEN attempts > 0 THEN next_attempt_at END) AS last_attempt_at
       FROM logout_deliveries d WHERE status != 'delivered' GROUP BY app_id HAVING pending > 0 OR failed > 0 ORDER BY app_id`,
  );
  const purge = db.prepare("DELETE FROM logout_deliveries WHERE status != 'pending' AND created_at < ?");
  const claim = db.transaction((now: number, limit: number, leaseUntil: number) => {
    const rows = due.all(now, limit);
    for (const row of rows) lease.run(leaseUntil, row.id);
    return rows.map(toDelivery);
  });
  return {
    enqueue(delivery: NewDelivery, nowSeconds: number, giveUpAt: number): void {
      insert.run(delivery.sid, delivery.appId, delivery.channel, delivery.url, delivery.subject, delivery.kind, delivery.casTicket ?? null, delivery.reason, nowSeconds, giveUpAt, nowSeconds);
    },
    /** Due deliveries, leased until `leaseUntil` so a slow attempt is not started twice. */
    claimDue(nowSeconds: number, limit: number, leaseUntil: number): Delivery[] {
      return claim(nowSeconds, limit, leaseUntil);
    },
    markDelivered(id: number, nowSeconds: number): void {
      delivered.run(nowSeconds, id);
    },
    markRetry(id: number, nextAttemptAt: number, error: string): void {
      retry.run(nextAttemptAt, error.slice(0, 300), id);
    },
    markFailed(id: number, error: string): void {
      failed.run(error.slice(0, 300), id);
    },
    /** Apps whose deliveries are failing or gave up (the admin pages show them). */
    health(): AppDeliveryHealth[] {
      return health.all().map((row) => ({ appId: row.app_id, pending: row.pending, failed: row.failed, lastError: row.last_error, lastAttemptAt: row.last_attempt_at }));
    },
    purgeFinishedBefore(nowSeconds: number): number {
      return purge.run(nowSeconds).changes;
    },
  };
}
