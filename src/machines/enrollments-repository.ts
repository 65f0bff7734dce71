import { createHash } from 'node:crypto';
import type { Db } from '../db/database.ts';

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

interface EnrollmentDbRow {
  code_hash: string;
  fqdn: string;
  lifetime_days: number;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  cancelled_at: number | null;
}

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

const OPEN = 'used_at IS NULL AND cancelled_at IS NULL';

export function createEnrollmentsRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO machine_enrollments (code_hash, fqdn, lifetime_days, created_by, created_at, expires_at)
     VALUES (@codeHash, @fqdn, @lifetimeDays, @createdBy, @createdAt, @expiresAt)`,
  );
  const select = db.prepare<[string], EnrollmentDbRow>('SELECT * FROM machine_enrollments WHERE code_hash = ?');
  // Single use: the row is claimed by the UPDATE itself, so two concurrent redemptions cannot both win.
  const consume = db.prepare<{ codeHash: string; now: number; ip: string }, EnrollmentDbRow>(
    `UPDATE machine_enrollments SET used_at = @now, used_ip = @ip
      WHERE code_hash = @codeHash AND ${OPEN} AND expires_at > @now
      RETURNING *`,
  );
  const cancelOpen = db.prepare<{ fqdn: string; now: number; by: string }, EnrollmentDbRow>(
    `UPDATE machine_enrollments SET cancelled_at = @now, cancelled_by = @by WHERE fqdn = @fqdn AND ${OPEN} RETURNING *`,
  );
  const selectPending = db.prepare<{ now: number }, EnrollmentDbRow>(`SELECT * FROM machine_enrollments WHERE ${OPEN} AND expires_at > @now ORDER BY expires_at, fqdn`);
  const selectPendingFor = db.prepare<{ fqdn: string; now: number }, EnrollmentDbRow>(`SELECT * FROM machine_enrollments WHERE fqdn = @fqdn AND ${OPEN} AND expires_at > @now`);

  return {
    insert(codeHash: string, enrollment: Omit<Enrollment, 'usedAt' | 'cancelledAt'>): void {
      insert.run({ codeHash, ...enrollment });
    },
    find(codeHash: string): Enrollment | undefined {
      const row = select.get(codeHash);
      return row ? toEnrollment(row) : undefined;
    },
    /** Marks an open, unexpired code used and returns it; undefined otherwise. Call inside a transaction. */
    consume(codeHash: string, now: number, ip: string): Enrollment | undefined {
      const row = consume.get({ codeHash, now, ip });
      return row ? toEnrollment(row) : undefined;
    },
    /**
     * Cancels every open link of the machine (the pending one, and expired ones never used) and
     * returns those that were still redeemable. Call inside a transaction.
     */
    cancelOpen(fqdn: string, now: number, by: string): PendingEnrollment[] {
      return cancelOpen.all({ fqdn, now, by }).filter((row) => row.expires_at > now).map(toPending);
    },
    pending(now: number): PendingEnrollment[] {
      return selectPending.all({ now }).map(toPending);
    },
    pendingFor(fqdn: string, now: number): PendingEnrollment | undefined {
      const row = selectPendingFor.get({ fqdn, now });
      return row ? toPending(row) : undefined;
    },
  };
}
