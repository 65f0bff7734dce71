import { randomBytes } from 'node:crypto';
import { formatTime } from '../time-format.ts';
import { enrollmentTag, hashEnrollmentCode, type PendingEnrollment } from './enrollments-repository.ts';
import { EnrollmentInvalidError, EnrollmentNotFoundError } from './errors.ts';
import { parseLifetimeDays } from './input.ts';
import { hashJti, type MachineClaims } from './machine-cookie.ts';
import type { Machine, MachinesRepository, VersionChange } from './machines-repository.ts';
import type { Actor, CreatedEnrollment, ExtraEventFields, MachineTransaction, MintedCookie, OperationsDeps } from './operations.ts';

/** The parts of the machine operations that enrollment shares (see operations.ts). */
export interface OperationsToolkit {
  transaction<T>(work: (tx: MachineTransaction) => Promise<T>): Promise<T>;
  findOrThrow(repository: MachinesRepository, fqdn: string, lock?: boolean): Promise<Machine>;
  event(repository: MachinesRepository, fqdn: string, action: 'enroll_create' | 'enroll_cancel' | 'enroll_redeem' | 'enroll_refused', actor: Actor, at: number, extra?: ExtraEventFields): Promise<void>;
  signFor(machine: Machine, lifetimeDays: number, at: number): Promise<{ cookie: string; claims: MachineClaims }>;
  moveVersion(tx: MachineTransaction, machine: Machine, change: VersionChange): Promise<Machine>;
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
  async function cancelOpenLinks(tx: MachineTransaction, fqdn: string, actor: Actor, at: number, reason: string): Promise<PendingEnrollment[]> {
    const cancelled = await tx.enrollments.cancelOpen(fqdn, at, actor.name);
    for (const link of cancelled) await kit.event(tx.machines, fqdn, 'enroll_cancel', actor, at, { reason, detail: link.tag });
    return cancelled;
  }

  async function redeemable(code: string, at: number) {
    const codeHash = hashEnrollmentCode(code);
    const enrollment = await deps.enrollments.find(codeHash);
    const ok = enrollment !== undefined && enrollment.usedAt === null && enrollment.cancelledAt === null && enrollment.expiresAt > at;
    return { codeHash, enrollment, ok };
  }

  return {
    /** A one-time URL that installs a fresh cookie in whichever browser opens it first; the machine's older link stops working. */
    async createEnrollment(fqdn: string, lifetimeDays: unknown, actor: Actor): Promise<CreatedEnrollment> {
      const days = parseLifetimeDays(lifetimeDays, deps.config.maxLifetimeDays);
      const at = deps.nowSeconds();
      const code = randomBytes(32).toString('base64url');
      const codeHash = hashEnrollmentCode(code);
      const expiresAt = at + deps.config.enrollmentTtlSeconds;
      await kit.transaction(async (tx) => {
        // the machine's row lock queues two links issued at once (any hosts): the second cancels the
        // first instead of running into the one-open-link index
        await kit.findOrThrow(tx.machines, fqdn, true);
        await cancelOpenLinks(tx, fqdn, actor, at, REPLACED);
        await tx.enrollments.insert(codeHash, { fqdn, lifetimeDays: days, createdBy: actor.name, createdAt: at, expiresAt });
        await kit.event(tx.machines, fqdn, 'enroll_create', actor, at, { detail: `${enrollmentTag(codeHash)} usable until ${formatTime(expiresAt)}, cookie for ${days} days` });
      });
      return { code, url: `${deps.issuer}/machines/enroll/${code}`, expiresAt, lifetimeDays: days };
    },

    /** Cancels the machine's pending link; an error when it has none. */
    async cancelEnrollment(fqdn: string, actor: Actor, reason: string | null = null): Promise<PendingEnrollment> {
      const at = deps.nowSeconds();
      return kit.transaction(async (tx) => {
        await kit.findOrThrow(tx.machines, fqdn);
        const [cancelled] = await cancelOpenLinks(tx, fqdn, actor, at, reason ?? 'cancelled');
        if (!cancelled) throw new EnrollmentNotFoundError(`${fqdn} has no pending enrollment link.`);
        return cancelled;
      });
    },

    /** Every link that can still be redeemed, soonest expiry first. */
    pendingEnrollments(): Promise<PendingEnrollment[]> {
      return deps.enrollments.pending(deps.nowSeconds());
    },

    pendingEnrollmentOf(fqdn: string): Promise<PendingEnrollment | undefined> {
      return deps.enrollments.pendingFor(fqdn, deps.nowSeconds());
    },

    /** The enrollment a code belongs to, if it can still be redeemed (the confirmation page). */
    async pendingEnrollment(code: string): Promise<{ fqdn: string; expiresAt: number; lifetimeDays: number }> {
      const { enrollment, ok } = await redeemable(code, deps.nowSeconds());
      if (!ok || !enrollment) throw enrollmentInvalid();
      return { fqdn: enrollment.fqdn, expiresAt: enrollment.expiresAt, lifetimeDays: enrollment.lifetimeDays };
    },

    /**
     * Signs the cookie first, then in one transaction claims the code (a single conditional
     * UPDATE: exactly one redemption wins) and moves the version from the value read.
     */
    async redeemEnrollment(code: string, actor: Actor): Promise<MintedCookie> {
      const at = deps.nowSeconds();
      const { codeHash, enrollment, ok } = await redeemable(code, at);
      if (!ok || !enrollment) {
        if (enrollment) await kit.event(deps.machines, enrollment.fqdn, 'enroll_refused', { name: 'enrollment', ip: actor.ip }, at, { reason: refusalReason(enrollment), detail: enrollmentTag(codeHash) });
        throw enrollmentInvalid();
      }
      const machine = await kit.findOrThrow(deps.machines, enrollment.fqdn);
      const { cookie, claims } = await kit.signFor(machine, enrollment.lifetimeDays, at);
      const moved = await kit.transaction(async (tx) => {
        if (!(await tx.enrollments.consume(codeHash, claims.iat, actor.ip ?? 'unknown'))) throw enrollmentInvalid();
        const changed = await kit.moveVersion(tx, machine, { version: claims.ver, setBy: `${enrollment.createdBy} (enrollment)`, setAt: claims.iat, expiresAt: claims.exp });
        await kit.event(tx.machines, machine.fqdn, 'enroll_redeem', { name: enrollment.createdBy, ip: actor.ip }, claims.iat, {
          version: claims.ver,
          detail: `${enrollmentTag(codeHash)} jti#${hashJti(claims.jti).slice(0, 10)} expires ${formatTime(claims.exp)}`,
        });
        return changed;
      });
      return { cookie, claims, machine: moved };
    },
  };
}
