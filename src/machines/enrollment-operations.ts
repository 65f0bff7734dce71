import { randomBytes } from 'node:crypto';
import { formatTime } from '../time-format.ts';
import { enrollmentTag, hashEnrollmentCode, type PendingEnrollment } from './enrollments-repository.ts';
import { EnrollmentInvalidError, EnrollmentNotFoundError } from './errors.ts';
import { parseLifetimeDays } from './input.ts';
import { hashJti, type MachineClaims } from './machine-cookie.ts';
import type { Machine } from './machines-repository.ts';
import type { Actor, CreatedEnrollment, MintedCookie, OperationsDeps } from './operations.ts';

/** The parts of the machine operations that enrollment shares (see operations.ts). */
export interface OperationsToolkit {
  findOrThrow(fqdn: string): Machine;
  event(fqdn: string, action: 'enroll_create' | 'enroll_cancel' | 'enroll_redeem' | 'enroll_refused', actor: Actor, at: number, extra?: { version?: number | null; reason?: string | null; detail?: string | null }): void;
  signFor(machine: Machine, lifetimeDays: number, at: number): Promise<{ cookie: string; claims: MachineClaims }>;
  moveVersion(machine: Machine, change: { version: number; setBy: string; setAt: number; expiresAt: number | null }): void;
}

const REPLACED = 'replaced by a newer link';

const enrollmentInvalid = () =>
  new EnrollmentInvalidError('This enrollment link is not valid: it is unknown, has expired, was cancelled or was already used. Ask an administrator for a new one.');

function refusalReason(enrollment: { usedAt: number | null; cancelledAt: number | null }): string {
  if (enrollment.usedAt !== null) return 'already used';
  return enrollment.cancelledAt !== null ? 'cancelled' : 'expired';
}

/**
 * One-time enrollment links: at most one pending link per machine. Issuing a link cancels the
 * machine's older one (a printed link left on a desk must not outlive its replacement); every
 * issue, cancellation, redemption and refusal is a machine_events row.
 */
export function createEnrollmentOperations(deps: OperationsDeps, kit: OperationsToolkit) {
  const { db, enrollments } = deps;

  function cancelOpenLinks(fqdn: string, actor: Actor, at: number, reason: string): PendingEnrollment[] {
    const cancelled = enrollments.cancelOpen(fqdn, at, actor.name);
    for (const link of cancelled) kit.event(fqdn, 'enroll_cancel', actor, at, { reason, detail: link.tag });
    return cancelled;
  }

  const createTransaction = db.transaction((fqdn: string, codeHash: string, days: number, actor: Actor, at: number, expiresAt: number) => {
    kit.findOrThrow(fqdn);
    cancelOpenLinks(fqdn, actor, at, REPLACED);
    enrollments.insert(codeHash, { fqdn, lifetimeDays: days, createdBy: actor.name, createdAt: at, expiresAt });
    kit.event(fqdn, 'enroll_create', actor, at, { detail: `${enrollmentTag(codeHash)} usable until ${formatTime(expiresAt)}, cookie for ${days} days` });
  });

  const cancelTransaction = db.transaction((fqdn: string, actor: Actor, reason: string | null, at: number): PendingEnrollment => {
    kit.findOrThrow(fqdn);
    const [cancelled] = cancelOpenLinks(fqdn, actor, at, reason ?? 'cancelled');
    if (!cancelled) throw new EnrollmentNotFoundError(`${fqdn} has no pending enrollment link.`);
    return cancelled;
  });

  const redeemTransaction = db.transaction((codeHash: string, machine: Machine, claims: MachineClaims, actor: Actor, createdBy: string) => {
    if (!enrollments.consume(codeHash, claims.iat, actor.ip ?? 'unknown')) throw enrollmentInvalid();
    kit.moveVersion(machine, { version: claims.ver, setBy: `${createdBy} (enrollment)`, setAt: claims.iat, expiresAt: claims.exp });
    kit.event(machine.fqdn, 'enroll_redeem', { name: createdBy, ip: actor.ip }, claims.iat, {
      version: claims.ver,
      detail: `${enrollmentTag(codeHash)} jti#${hashJti(claims.jti).slice(0, 10)} expires ${formatTime(claims.exp)}`,
    });
  });

  function redeemable(code: string, at: number) {
    const codeHash = hashEnrollmentCode(code);
    const enrollment = enrollments.find(codeHash);
    const ok = enrollment !== undefined && enrollment.usedAt === null && enrollment.cancelledAt === null && enrollment.expiresAt > at;
    return { codeHash, enrollment, ok };
  }

  return {
    /** A one-time URL that installs a fresh cookie in whichever browser opens it first; the machine's older link stops working. */
    createEnrollment(fqdn: string, lifetimeDays: unknown, actor: Actor): CreatedEnrollment {
      const days = parseLifetimeDays(lifetimeDays, deps.config.maxLifetimeDays);
      const at = deps.nowSeconds();
      const code = randomBytes(32).toString('base64url');
      const expiresAt = at + deps.config.enrollmentTtlSeconds;
      createTransaction(fqdn, hashEnrollmentCode(code), days, actor, at, expiresAt);
      return { code, url: `${deps.issuer}/machines/enroll/${code}`, expiresAt, lifetimeDays: days };
    },

    /** Cancels the machine's pending link; an error when it has none. */
    cancelEnrollment(fqdn: string, actor: Actor, reason: string | null = null): PendingEnrollment {
      return cancelTransaction(fqdn, actor, reason, deps.nowSeconds());
    },

    /** Every link that can still be redeemed, soonest expiry first. */
    pendingEnrollments(): PendingEnrollment[] {
      return enrollments.pending(deps.nowSeconds());
    },

    pendingEnrollmentOf(fqdn: string): PendingEnrollment | undefined {
      return enrollments.pendingFor(fqdn, deps.nowSeconds());
    },

    /** The enrollment a code belongs to, if it can still be redeemed (the confirmation page). */
    pendingEnrollment(code: string): { fqdn: string; expiresAt: number; lifetimeDays: number } {
      const { enrollment, ok } = redeemable(code, deps.nowSeconds());
      if (!ok || !enrollment) throw enrollmentInvalid();
      return { fqdn: enrollment.fqdn, expiresAt: enrollment.expiresAt, lifetimeDays: enrollment.lifetimeDays };
    },

    async redeemEnrollment(code: string, actor: Actor): Promise<MintedCookie> {
      const at = deps.nowSeconds();
      const { codeHash, enrollment, ok } = redeemable(code, at);
      if (!ok || !enrollment) {
        if (enrollment) kit.event(enrollment.fqdn, 'enroll_refused', { name: 'enrollment', ip: actor.ip }, at, { reason: refusalReason(enrollment), detail: enrollmentTag(codeHash) });
        throw enrollmentInvalid();
      }
      const machine = kit.findOrThrow(enrollment.fqdn);
      const { cookie, claims } = await kit.signFor(machine, enrollment.lifetimeDays, at);
      redeemTransaction(codeHash, machine, claims, actor, enrollment.createdBy);
      return { cookie, claims, machine: kit.findOrThrow(enrollment.fqdn) };
    },
  };
}
