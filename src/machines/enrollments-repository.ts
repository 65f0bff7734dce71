import { createHash } from 'node:crypto';
import type { ExpressionBuilder, Selectable } from 'kysely';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

export interface Enrollment {
  readonly fqdn: string;
  readonly lifetimeDays: number;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly cancelledAt: number | null;
}

/** A link that can still be redeemed, as the admin pages and the CLI list it (never the code). */
export interface PendingEnrollment extends Omit<Enrollment, 'usedAt' | 'cancelledAt'> {
  /** `code#` and the first characters of the code's hash: names the link in the history */
  readonly tag: string;
}

/** Only this hash is stored: a copy of the database does not contain usable enrollment URLs. */
export function hashEnrollmentCode(code: string): string {
  return createHash('sha256').update(code).digest('base64url');
}

/** How the history names a link without revealing anything usable. */
export const enrollmentTag = (codeHash: string) => `code#${codeHash.slice(0, 10)}`;

type EnrollmentDbRow = Selectable<Tables['machine_enrollments']>;

const toEnrollment = (row: EnrollmentDbRow): Enrollment => ({
  fqdn: row.fqdn,
  lifetimeDays: row.lifetime_days,
  createdBy: row.created_by,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
  cancelledAt: row.cancelled_at,
});

const toPending = (row: EnrollmentDbRow): PendingEnrollment => ({
  fqdn: row.fqdn,
  lifetimeDays: row.lifetime_days,
  createdBy: row.created_by,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  tag: enrollmentTag(row.code_hash),
});

export type EnrollmentsRepository = ReturnType<typeof createEnrollmentsRepository>;

/** Neither used nor cancelled (expired links still are "open": the unique index counts them). */
const open = (eb: ExpressionBuilder<Tables, 'machine_enrollments'>) => eb.and([eb('used_at', 'is', null), eb('cancelled_at', 'is', null)]);

export function createEnrollmentsRepository(db: Queryable) {
  return {
    async insert(codeHash: string, enrollment: Omit<Enrollment, 'usedAt' | 'cancelledAt'>): Promise<void> {
      await db
        .insertInto('machine_enrollments')
        .values({
          code_hash: codeHash,
          fqdn: enrollment.fqdn,
          lifetime_days: enrollment.lifetimeDays,
          created_by: enrollment.createdBy,
          created_at: enrollment.createdAt,
          expires_at: enrollment.expiresAt,
          used_at: null,
          used_ip: null,
          cancelled_at: null,
          cancelled_by: null,
        })
        .execute();
    },
    async find(codeHash: string): Promise<Enrollment | undefined> {
      const row = await db.selectFrom('machine_enrollments').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
      return row ? toEnrollment(row) : undefined;
    },
    /**
     * Marks an open, unexpired code used and returns it; undefined otherwise. Single use: the row is
     * claimed by this one UPDATE, so of two concurrent redemptions (any hosts) exactly one gets it.
     */
    async consume(codeHash: string, now: number, ip: string): Promise<Enrollment | undefined> {
      const row = await db
        .updateTable('machine_enrollments')
        .set({ used_at: now, used_ip: ip })
        .where('code_hash', '=', codeHash)
        .where(open)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row ? toEnrollment(row) : undefined;
    },
    /**
     * Cancels every open link of the machine (the pending one, and expired ones never used) and
     * returns those that were still redeemable. Call inside a transaction.
     */
    async cancelOpen(fqdn: string, now: number, by: string): Promise<PendingEnrollment[]> {
      const rows = await db.updateTable('machine_enrollments').set({ cancelled_at: now, cancelled_by: by }).where('fqdn', '=', fqdn).where(open).returningAll().execute();
      return rows.filter((row) => row.expires_at > now).map(toPending);
    },
    async pending(now: number): Promise<PendingEnrollment[]> {
      const rows = await db.selectFrom('machine_enrollments').selectAll().where(open).where('expires_at', '>', now).orderBy('expires_at').orderBy('fqdn').execute();
      return rows.map(toPending);
    },
    async pendingFor(fqdn: string, now: number): Promise<PendingEnrollment | undefined> {
      const row = await db.selectFrom('machine_enrollments').selectAll().where('fqdn', '=', fqdn).where(open).where('expires_at', '>', now).executeTakeFirst();
      return row ? toPending(row) : undefined;
    },
  };
}
