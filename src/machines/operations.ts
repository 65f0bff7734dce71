import type { Db } from '../db/database.ts';
import type { Keystore } from '../keys/keystore.ts';
import type { AlertsRepository, MachineAlert } from './alerts-repository.ts';
import type { MachinesConfig } from './config-schema.ts';
import { formatTime } from '../time-format.ts';
import { createEnrollmentOperations } from './enrollment-operations.ts';
import type { EnrollmentsRepository } from './enrollments-repository.ts';
import {
  InvalidMachineInputError,
  MachineExistsError,
  MachineNotFoundError,
  MachineVersionConflictError,
} from './errors.ts';
import { parseEntitlements, parseLifetimeDays, parseLocation, parseNetworks } from './input.ts';
import { hashJti, MAX_MACHINE_VERSION, newJti, signMachineCookie, type MachineClaims } from './machine-cookie.ts';
import type { Machine, MachineAction, MachinesRepository, MachineStatus } from './machines-repository.ts';

/** Who changes something: an admin's username or `cli:<os user>`, and where from. */
export interface Actor {
  readonly name: string;
  readonly ip?: string | undefined;
}

export interface MachineDetails {
  readonly location?: unknown;
  readonly networks?: readonly string[];
  readonly entitlements?: readonly string[];
}

export interface MintedCookie {
  readonly cookie: string;
  readonly claims: MachineClaims;
  readonly machine: Machine;
}

export interface CreatedEnrollment {
  readonly code: string;
  readonly url: string;
  readonly expiresAt: number;
  readonly lifetimeDays: number;
}

export interface OperationsDeps {
  readonly db: Db;
  readonly config: MachinesConfig;
  readonly issuer: string;
  readonly keystore: Keystore;
  readonly machines: MachinesRepository;
  readonly alerts: AlertsRepository;
  readonly enrollments: EnrollmentsRepository;
  readonly nowSeconds: () => number;
}

const INVALID_BEFORE_SETTING = 'invalid_before';
/** A cutoff may be set this far ahead of the clock (another process's clock), no further. */
const CUTOFF_SKEW_SECONDS = 60;
const DAY_SECONDS = 86_400;

const jtiTag = (jti: string) => `jti#${hashJti(jti).slice(0, 10)}`;

export type MachineOperations = ReturnType<typeof createMachineOperations>;

/**
 * Every change to the version table, shared by the admin pages and the CLI. Each one is a
 * synchronous transaction that writes the change and its machine_events row together; minting
 * signs the cookie first and then moves the version only if nobody moved it meanwhile, so a
 * failure leaves nothing half-written.
 */
export function createMachineOperations(deps: OperationsDeps) {
  const { db, machines } = deps;

  function findOrThrow(fqdn: string): Machine {
    const machine = machines.find(fqdn);
    if (!machine) throw new MachineNotFoundError(`There is no machine named ${fqdn}.`);
    return machine;
  }

  function event(fqdn: string, action: MachineAction, actor: Actor, at: number, extra: { version?: number | null; reason?: string | null; detail?: string | null } = {}) {
    machines.addEvent({ fqdn, action, actor: actor.name, at, clientIp: actor.ip ?? null, ...extra });
  }

  function describeDetails(details: { location: string | null; networks: readonly string[]; entitlements: readonly string[] }): string {
    return `location=${details.location ?? '-'} networks=${details.networks.join(',') || '-'} entitlements=${details.entitlements.join(',') || '-'}`;
  }

  function parseDetails(input: MachineDetails, current?: Machine) {
    return {
      location: 'location' in input ? parseLocation(input.location) : (current?.location ?? null),
      networks: input.networks ? parseNetworks(input.networks) : [...(current?.networks ?? [])],
      entitlements: input.entitlements ? parseEntitlements(input.entitlements) : [...(current?.entitlements ?? [])],
    };
  }

  const addTransaction = db.transaction((fqdn: string, details: ReturnType<typeof parseDetails>, actor: Actor, at: number) => {
    if (machines.find(fqdn)) throw new MachineExistsError(`A machine named ${fqdn} already exists.`);
    machines.insert({ fqdn, ...details, createdBy: actor.name, createdAt: at });
    event(fqdn, 'add', actor, at, { version: 0, detail: describeDetails(details) });
  });

  const updateTransaction = db.transaction((fqdn: string, input: MachineDetails, actor: Actor, at: number) => {
    const details = parseDetails(input, findOrThrow(fqdn));
    machines.updateDetails(fqdn, details);
    event(fqdn, 'update', actor, at, { detail: describeDetails(details) });
  });

  function nextVersion(machine: Machine): number {
    if (machine.version >= MAX_MACHINE_VERSION) throw new InvalidMachineInputError(`The version of ${machine.fqdn} cannot be raised any further.`);
    return machine.version + 1;
  }

  function moveVersion(machine: Machine, change: { version: number; setBy: string; setAt: number; expiresAt: number | null }): void {
    if (!machines.setVersion(machine.fqdn, machine.version, change)) {
      throw new MachineVersionConflictError(`${machine.fqdn} was changed by someone else at the same moment; nothing was changed, please try again.`);
    }
  }

  const commitMintTransaction = db.transaction((machine: Machine, claims: MachineClaims, actor: Actor) => {
    moveVersion(machine, { version: claims.ver, setBy: actor.name, setAt: claims.iat, expiresAt: claims.exp });
    event(machine.fqdn, 'mint', actor, claims.iat, { version: claims.ver, detail: `${jtiTag(claims.jti)} expires ${formatTime(claims.exp)}` });
  });

  const revokeTransaction = db.transaction((fqdn: string, actor: Actor, reason: string | null, at: number): Machine => {
    const machine = findOrThrow(fqdn);
    const version = nextVersion(machine);
    moveVersion(machine, { version, setBy: actor.name, setAt: at, expiresAt: null });
    event(fqdn, 'revoke', actor, at, { version, reason });
    return findOrThrow(fqdn);
  });

  const statusTransaction = db.transaction((fqdn: string, from: MachineStatus, to: MachineStatus, actor: Actor, reason: string | null, at: number): boolean => {
    const machine = findOrThrow(fqdn);
    if (!machines.setStatus(fqdn, from, to)) return false;
    event(fqdn, to === 'suspended' ? 'suspend' : 'reactivate', actor, at, { version: machine.version, reason });
    return true;
  });

  function configuredCutoff(): number | undefined {
    return deps.config.invalidBefore === undefined ? undefined : Math.floor(Date.parse(deps.config.invalidBefore) / 1000);
  }

  function storedCutoff(): number | undefined {
    const value = machines.setting(INVALID_BEFORE_SETTING);
    return value === undefined ? undefined : Number(value);
  }

  /** The later of the config's and the CLI's cutoff. */
  function invalidBefore(): number | undefined {
    const cutoffs = [configuredCutoff(), storedCutoff()].filter((value): value is number => value !== undefined);
    return cutoffs.length === 0 ? undefined : Math.max(...cutoffs);
  }

  async function signFor(machine: Machine, lifetimeDays: number, at: number): Promise<{ cookie: string; claims: MachineClaims }> {
    const claims: MachineClaims = { fqdn: machine.fqdn, ver: nextVersion(machine), iat: at, exp: at + lifetimeDays * DAY_SECONDS, jti: newJti() };
    return { cookie: await signMachineCookie(deps.keystore, claims), claims };
  }

  const enrollment = createEnrollmentOperations(deps, { findOrThrow, event, signFor, moveVersion });

  return {
    invalidBefore,
    ...enrollment,

    add(fqdn: string, input: MachineDetails, actor: Actor): Machine {
      addTransaction(fqdn, parseDetails(input), actor, deps.nowSeconds());
      return findOrThrow(fqdn);
    },

    update(fqdn: string, input: MachineDetails, actor: Actor): Machine {
      updateTransaction(fqdn, input, actor, deps.nowSeconds());
      return findOrThrow(fqdn);
    },

    /** A new cookie for the machine: the version goes up, so every earlier cookie stops working. */
    async mint(fqdn: string, lifetimeDays: unknown, actor: Actor): Promise<MintedCookie> {
      const days = parseLifetimeDays(lifetimeDays, deps.config.maxLifetimeDays);
      const machine = findOrThrow(fqdn);
      const { cookie, claims } = await signFor(machine, days, deps.nowSeconds());
      commitMintTransaction(machine, claims, actor);
      return { cookie, claims, machine: findOrThrow(fqdn) };
    },

    /** Revoking is bumping the version without issuing a cookie. */
    revoke(fqdn: string, actor: Actor, reason: string | null = null): Machine {
      return revokeTransaction(fqdn, actor, reason, deps.nowSeconds());
    },

    /** false when the machine already was suspended */
    suspend(fqdn: string, actor: Actor, reason: string | null = null): boolean {
      return statusTransaction(fqdn, 'active', 'suspended', actor, reason, deps.nowSeconds());
    },

    /** false when the machine already was active */
    reactivate(fqdn: string, actor: Actor, reason: string | null = null): boolean {
      return statusTransaction(fqdn, 'suspended', 'active', actor, reason, deps.nowSeconds());
    },

    recordMintDenied(fqdn: string, actor: Actor, reason: string): void {
      event(fqdn, 'mint_denied', actor, deps.nowSeconds(), { reason });
    },

    /** Refuses every machine cookie issued before `cutoff`. The cutoff only ever moves later. */
    setInvalidBefore(cutoff: number, actor: Actor): number {
      const at = deps.nowSeconds();
      if (!Number.isInteger(cutoff) || cutoff > at + CUTOFF_SKEW_SECONDS) throw new InvalidMachineInputError('The cutoff must not lie in the future.');
      const current = invalidBefore();
      if (current !== undefined && cutoff < current) {
        throw new InvalidMachineInputError(`The cutoff is already ${formatTime(current)}; moving it earlier would revive refused cookies.`);
      }
      db.transaction(() => {
        machines.setSetting(INVALID_BEFORE_SETTING, String(cutoff), actor.name, at);
        event('*', 'invalidate_before', actor, at, { detail: formatTime(cutoff) });
      })();
      return cutoff;
    },

    closeAlert(id: number, actor: Actor): MachineAlert {
      const at = deps.nowSeconds();
      return db.transaction(() => {
        const alert = deps.alerts.find(id);
        if (!alert) throw new MachineNotFoundError(`There is no alert number ${id}.`);
        if (deps.alerts.close(id, actor.name, at)) event(alert.fqdn, 'alert_close', actor, at, { detail: `alert ${id} (${alert.rule})` });
        return deps.alerts.find(id) ?? alert;
      })();
    },

    /** A new machine key: every machine cookie stops verifying once the old key's grace period ends. */
    async rotateKey(actor: Actor): Promise<string> {
      const kid = await deps.keystore.rotate('machine', 'EdDSA');
      event('*', 'rotate_key', actor, deps.nowSeconds(), { detail: `new machine key ${kid}` });
      return kid;
    },
  };
}
