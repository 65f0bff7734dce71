import { createHash } from 'node:crypto';
import type { Db } from '../db/database.ts';

export interface Enrollment {
  readonly fqdn: string;
  readonly lifetimeDays: number;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
}

/** Only this hash is stored: a copy of the database does not contain usable enrollment URLs. */
export function hashEnrollmentCode(code: string): string {
  return createHash('sha256').update(code).digest('base64url');
}

interface EnrollmentDbRow {
  fqdn: string;
  lifetime_days: number;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

const toEnrollment = (row: EnrollmentDbRow): Enrollment => ({
  fqdn: row.fqdn,
  lifetimeDays: row.lifetime_days,
  createdBy: row.created_by,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
});

export type EnrollmentsRepository = ReturnType<typeof createEnrollmentsRepository>;

export function createEnrollmentsRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO machine_enrollments (code_hash, fqdn, lifetime_days, created_by, created_at, expires_at)
     VALUES (@codeHash, @fqdn, @lifetimeDays, @createdBy, @createdAt, @expiresAt)`,
  );
  const select = db.prepare<[string], EnrollmentDbRow>('SELECT * FROM machine_enrollments WHERE code_hash = ?');
  // Single use: the row is claimed by the UPDATE itself, so two concurrent redemptions cannot both win.
  const consume = db.prepare<{ codeHash: string; now: number; ip: string }, EnrollmentDbRow>(
    `UPDATE machine_enrollments SET used_at = @now, used_ip = @ip
      WHERE code_hash = @codeHash AND used_at IS NULL AND expires_at > @now
      RETURNING *`,
  );

  return {
    insert(codeHash: string, enrollment: Omit<Enrollment, 'usedAt'>): void {
      insert.run({ codeHash, ...enrollment });
    },
    find(codeHash: string): Enrollment | undefined {
      const row = select.get(codeHash);
      return row ? toEnrollment(row) : undefined;
    },
    /** Marks an unused, unexpired code used and returns it; undefined otherwise. Call inside a transaction. */
    consume(codeHash: string, now: number, ip: string): Enrollment | undefined {
      const row = consume.get({ codeHash, now, ip });
      return row ? toEnrollment(row) : undefined;
    },
  };
}
