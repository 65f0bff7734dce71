import type { Keystore } from '../keys/keystore.ts';
import type { Queryable, Store } from '../store/store.ts';
import { createAlertsRepository, type AlertsRepository, type MachineAlert } from './alerts-repository.ts';
import type { MachinesConfig } from './config-schema.ts';
import { formatTime } from '../time-format.ts';
import { createEnrollmentOperations } from './enrollment-operations.ts';
import { createEnrollmentsRepository, type EnrollmentsRepository } from './enrollments-repository.ts';
import {
  InvalidMachineInputError,
  MachineExistsError,
  MachineNotFoundError,
  MachineVersionConflictError,
} from './errors.ts';
import { parseEntitlements, parseLifetimeDays, parseLocation, parseNetworks } from './input.ts';
import { hashJti, MAX_MACHINE_VERSION, newJti, signMachineCookie, type MachineClaims } from './machine-cookie.ts';
import { createMachinesRepository, type Machine, type MachineAction, type MachinesRepository, type MachineStatus, type VersionChange } from './machines-repository.ts';

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
  readonly store: Store;
  readonly config: MachinesConfig;
  readonly issuer: string;
  readonly keystore: Keystore;
  /** the repositories on the store's connection, for reads outside a transaction */
  readonly machines: MachinesRepository;
  readonly enrollments: EnrollmentsRepository;
  readonly nowSeconds: () => number;
}

/** The repositories over one transaction (built per transaction: the factories are cheap). */
export interface MachineTransaction {
  readonly machines: MachinesRepository;
  readonly alerts: AlertsRepository;
  readonly enrollments: EnrollmentsRepository;
}

export type ExtraEventFields = { version?: number | null; reason?: string | null; detail?: string | null };

const INVALID_BEFORE_SETTING = 'invalid_before';
/** A cutoff may be set this far ahead of the clock (another process's clock), no further. */
const CUTOFF_SKEW_SECONDS = 60;
const DAY_SECONDS = 86_400;

const jtiTag = (jti: string) => `jti#${hashJti(jti).slice(0, 10)}`;

const conflict = (fqdn: string) => new MachineVersionConflictError(`${fqdn} was changed by someone else at the same moment; nothing was changed, please try again.`);

export type MachineOperations = ReturnType<typeof createMachineOperations>;

/**
 * Every change to the version table, shared by the admin pages and the CLI. Each one is a
 * transaction that writes the change and its machine_events row together; minting signs the
 * cookie first (nothing but queries inside a transaction) and then moves the version only from
 * the value it read (compare-and-set), so a failure or a concurrent mint leaves nothing half-written.
 */
export function createMachineOperations(deps: OperationsDeps) {
  const { store, machines } = deps;

  function transaction<T>(work: (tx: MachineTransaction) => Promise<T>): Promise<T> {
    return store.transaction((trx: Queryable) =>
      work({ machines: createMachinesRepository(trx, store.kind), alerts: createAlertsRepository(trx), enrollments: createEnrollmentsRepository(trx) }),
    );
  }

  async function findOrThrow(repository: MachinesRepository, fqdn: string, lock = false): Promise<Machine> {
    const machine = await (lock ? repository.findForUpdate(fqdn) : repository.find(fqdn));
    if (!machine) throw new MachineNotFoundError(`There is no machine named ${fqdn}.`);
    return machine;
  }

  function event(repository: MachinesRepository, fqdn: string, action: MachineAction, actor: Actor, at: number, extra: ExtraEventFields = {}): Promise<void> {
    return repository.addEvent({ fqdn, action, actor: actor.name, at, clientIp: actor.ip ?? null, ...extra });
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

  function nextVersion(machine: Machine): number {
    if (machine.version >= MAX_MACHINE_VERSION) throw new InvalidMachineInputError(`The version of ${machine.fqdn} cannot be raised any further.`);
    return machine.version + 1;
  }

  /** Compare-and-set from the version `machine` was read with; the machine as changed. */
  async function moveVersion(tx: MachineTransaction, machine: Machine, change: VersionChange): Promise<Machine> {
    const moved = await tx.machines.setVersion(machine.fqdn, machine.version, change);
    if (!moved) throw conflict(machine.fqdn);
    return moved;
  }

  async function changeStatus(fqdn: string, from: MachineStatus, to: MachineStatus, actor: Actor, reason: string | null): Promise<boolean> {
    const at = deps.nowSeconds();
    return transaction(async (tx) => {
      const machine = await findOrThrow(tx.machines, fqdn);
      if (!(await tx.machines.setStatus(fqdn, from, to))) return false;
      await event(tx.machines, fqdn, to === 'suspended' ? 'suspend' : 'reactivate', actor, at, { version: machine.version, reason });
      return true;
    });
  }

  function configuredCutoff(): number | undefined {
    return deps.config.invalidBefore === undefined ? undefined : Math.floor(Date.parse(deps.config.invalidBefore) / 1000);
  }

  /** The later of the config's and the CLI's cutoff, read from `repository` (a presentation's transaction). */
  async function invalidBefore(repository: MachinesRepository = machines): Promise<number | undefined> {
    const stored = await repository.setting(INVALID_BEFORE_SETTING);
    const cutoffs = [configuredCutoff(), stored === undefined ? undefined : Number(stored)].filter((value): value is number => value !== undefined);
    return cutoffs.length === 0 ? undefined : Math.max(...cutoffs);
  }

  /** Signing happens here, before any transaction: no crypto while a connection is held. */
  async function signFor(machine: Machine, lifetimeDays: number, at: number): Promise<{ cookie: string; claims: MachineClaims }> {
    const claims: MachineClaims = { fqdn: machine.fqdn, ver: nextVersion(machine), iat: at, exp: at + lifetimeDays * DAY_SECONDS, jti: newJti() };
    return { cookie: await signMachineCookie(deps.keystore, claims), claims };
  }

  const enrollment = createEnrollmentOperations(deps, { transaction, findOrThrow, event, signFor, moveVersion });

  return {
    invalidBefore,
    ...enrollment,

    async add(fqdn: string, input: MachineDetails, actor: Actor): Promise<Machine> {
      const details = parseDetails(input);
      const at = deps.nowSeconds();
      return transaction(async (tx) => {
        if (!(await tx.machines.insert({ fqdn, ...details, createdBy: actor.name, createdAt: at }))) throw new MachineExistsError(`A machine named ${fqdn} already exists.`);
        await event(tx.machines, fqdn, 'add', actor, at, { version: 0, detail: describeDetails(details) });
        return findOrThrow(tx.machines, fqdn);
      });
    },

    /** Reads and writes the details under the row lock: two admins editing at once do not lose a change silently. */
    async update(fqdn: string, input: MachineDetails, actor: Actor): Promise<Machine> {
      const at = deps.nowSeconds();
      return transaction(async (tx) => {
        const details = parseDetails(input, await findOrThrow(tx.machines, fqdn, true));
        await tx.machines.updateDetails(fqdn, details);
        await event(tx.machines, fqdn, 'update', actor, at, { detail: describeDetails(details) });
        return findOrThrow(tx.machines, fqdn);
      });
    },

    /** A new cookie for the machine: the version goes up, so every earlier cookie stops working. */
    async mint(fqdn: string, lifetimeDays: unknown, actor: Actor): Promise<MintedCookie> {
      const days = parseLifetimeDays(lifetimeDays, deps.config.maxLifetimeDays);
      const machine = await findOrThrow(machines, fqdn);
      const { cookie, claims } = await signFor(machine, days, deps.nowSeconds());
      const minted = await transaction(async (tx) => {
        const moved = await moveVersion(tx, machine, { version: claims.ver, setBy: actor.name, setAt: claims.iat, expiresAt: claims.exp });
        await event(tx.machines, fqdn, 'mint', actor, claims.iat, { version: claims.ver, detail: `${jtiTag(claims.jti)} expires ${formatTime(claims.exp)}` });
        return moved;
      });
      return { cookie, claims, machine: minted };
    },

    /** Revoking is bumping the version without issuing a cookie. */
    async revoke(fqdn: string, actor: Actor, reason: string | null = null): Promise<Machine> {
      const at = deps.nowSeconds();
      return transaction(async (tx) => {
        const machine = await findOrThrow(tx.machines, fqdn);
        const version = nextVersion(machine);
        const moved = await moveVersion(tx, machine, { version, setBy: actor.name, setAt: at, expiresAt: null });
        await event(tx.machines, fqdn, 'revoke', actor, at, { version, reason });
        return moved;
      });
    },

    /** false when the machine already was suspended */
    suspend(fqdn: string, actor: Actor, reason: string | null = null): Promise<boolean> {
      return changeStatus(fqdn, 'active', 'suspended', actor, reason);
    },

    /** false when the machine already was active */
    reactivate(fqdn: string, actor: Actor, reason: string | null = null): Promise<boolean> {
      return changeStatus(fqdn, 'suspended', 'active', actor, reason);
    },

    recordMintDenied(fqdn: string, actor: Actor, reason: string): Promise<void> {
      return event(machines, fqdn, 'mint_denied', actor, deps.nowSeconds(), { reason });
    },

    /** Refuses every machine cookie issued before `cutoff`. The cutoff only ever moves later, even with two hosts at once. */
    async setInvalidBefore(cutoff: number, actor: Actor): Promise<number> {
      const at = deps.nowSeconds();
      if (!Number.isInteger(cutoff) || cutoff > at + CUTOFF_SKEW_SECONDS) throw new InvalidMachineInputError('The cutoff must not lie in the future.');
      const current = await invalidBefore();
      if (current !== undefined && cutoff < current) {
        throw new InvalidMachineInputError(`The cutoff is already ${formatTime(current)}; moving it earlier would revive refused cookies.`);
      }
      await transaction(async (tx) => {
        if (!(await tx.machines.raiseNumericSetting(INVALID_BEFORE_SETTING, cutoff, actor.name, at))) {
          throw new InvalidMachineInputError('Someone set a later cutoff at the same moment; moving it earlier would revive refused cookies.');
        }
        await event(tx.machines, '*', 'invalidate_before', actor, at, { detail: formatTime(cutoff) });
      });
      return cutoff;
    },

    async closeAlert(id: number, actor: Actor): Promise<MachineAlert> {
      const at = deps.nowSeconds();
      return transaction(async (tx) => {
        const alert = await tx.alerts.find(id);
        if (!alert) throw new MachineNotFoundError(`There is no alert number ${id}.`);
        if (await tx.alerts.close(id, actor.name, at)) await event(tx.machines, alert.fqdn, 'alert_close', actor, at, { detail: `alert ${id} (${alert.rule})` });
        return (await tx.alerts.find(id)) ?? alert;
      });
    },

    /** A new machine key: every machine cookie stops verifying once the old key's grace period ends. */
    async rotateKey(actor: Actor): Promise<string> {
      const kid = await deps.keystore.rotate('machine', 'EdDSA');
      await event(machines, '*', 'rotate_key', actor, deps.nowSeconds(), { detail: `new machine key ${kid}` });
      return kid;
    },
  };
}
