import type { Selectable } from 'kysely';
import { prepareQuery, type Param } from '../store/prepared-query.ts';
import type { Queryable, StoreKind } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

export type MachineStatus = 'active' | 'suspended';

export interface Machine {
  readonly fqdn: string;
  readonly version: number;
  readonly setBy: string;
  readonly setAt: number;
  /** expiry of the current cookie (unix seconds); null when no cookie of this machine is valid */
  readonly expiresAt: number | null;
  readonly status: MachineStatus;
  readonly location: string | null;
  readonly networks: readonly string[];
  readonly entitlements: readonly string[];
  readonly createdBy: string;
  readonly createdAt: number;
}

export interface MachineListEntry extends Machine {
  readonly lastSeen: number | null;
  readonly lastIp: string | null;
  readonly openAlerts: number;
}

export type MachineAction =
  | 'add'
  | 'update'
  | 'mint'
  | 'revoke'
  | 'suspend'
  | 'reactivate'
  | 'auto_suspend'
  | 'mint_denied'
  | 'enroll_create'
  | 'enroll_cancel'
  | 'enroll_redeem'
  | 'enroll_refused'
  | 'alert_close'
  | 'invalidate_before'
  | 'rotate_key';

export interface MachineEvent {
  readonly id: number;
  readonly fqdn: string;
  readonly action: MachineAction;
  readonly version: number | null;
  readonly actor: string;
  readonly at: number;
  readonly clientIp: string | null;
  readonly reason: string | null;
  readonly detail: string | null;
}

export type NewMachineEvent = Omit<MachineEvent, 'id' | 'clientIp' | 'reason' | 'detail' | 'version'> & {
  readonly version?: number | null;
  readonly clientIp?: string | null | undefined;
  readonly reason?: string | null | undefined;
  readonly detail?: string | null | undefined;
};

export interface NewMachine {
  readonly fqdn: string;
  readonly location: string | null;
  readonly networks: readonly string[];
  readonly entitlements: readonly string[];
  readonly createdBy: string;
  readonly createdAt: number;
}

export interface VersionChange {
  readonly version: number;
  readonly setBy: string;
  readonly setAt: number;
  readonly expiresAt: number | null;
}

type MachineDbRow = Selectable<Tables['machines']>;

/** A machine_events row as the store returns it (the admin console's queries read the same rows). */
export type EventDbRow = Selectable<Tables['machine_events']>;

const toMachine = (row: MachineDbRow): Machine => ({
  fqdn: row.fqdn,
  version: row.version,
  setBy: row.set_by,
  setAt: row.set_at,
  expiresAt: row.expires_at,
  status: row.status,
  location: row.location,
  networks: JSON.parse(row.networks) as string[],
  entitlements: JSON.parse(row.entitlements) as string[],
  createdBy: row.created_by,
  createdAt: row.created_at,
});

export const toEvent = (row: EventDbRow): MachineEvent => ({
  id: row.id,
  fqdn: row.fqdn,
  action: row.action as MachineAction,
  version: row.version,
  actor: row.actor,
  at: row.at,
  clientIp: row.client_ip,
  reason: row.reason,
  detail: row.detail,
});

export type MachinesRepository = ReturnType<typeof createMachinesRepository>;

// read by every presentation: compiled once (src/store/prepared-query.ts)
const findMachine = prepareQuery((db, param: Param<{ fqdn: string }>) => db.selectFrom('machines').selectAll().where('fqdn', '=', param('fqdn')));
const findMachineLocked = prepareQuery((db, param: Param<{ fqdn: string }>) => db.selectFrom('machines').selectAll().where('fqdn', '=', param('fqdn')).forNoKeyUpdate());
const findSetting = prepareQuery((db, param: Param<{ name: string }>) => db.selectFrom('machine_settings').select('value').where('name', '=', param('name')));

/**
 * The version table, its append-only history and the global settings. `db` is the store's
 * connection or a caller's transaction; `kind` decides the one engine-specific detail, the row
 * lock of findForUpdate (SQLite's IMMEDIATE transactions already exclude every other writer).
 */
export function createMachinesRepository(db: Queryable, kind: StoreKind) {
  return {
    /** false when a machine of that name exists already (one statement: two hosts adding it race safely) */
    async insert(machine: NewMachine): Promise<boolean> {
      const row = await db
        .insertInto('machines')
        .values({
          fqdn: machine.fqdn,
          version: 0,
          set_by: machine.createdBy,
          set_at: machine.createdAt,
          expires_at: null,
          status: 'active',
          location: machine.location,
          networks: JSON.stringify(machine.networks),
          entitlements: JSON.stringify(machine.entitlements),
          created_by: machine.createdBy,
          created_at: machine.createdAt,
        })
        .onConflict((oc) => oc.column('fqdn').doNothing())
        .returning('fqdn')
        .executeTakeFirst();
      return row !== undefined;
    },
    async find(fqdn: string): Promise<Machine | undefined> {
      const row = await db.selectFrom('machines').selectAll().where('fqdn', '=', fqdn).executeTakeFirst();
      return row ? toMachine(row) : undefined;
    },
    /**
     * The row, locked until the caller's transaction ends (PostgreSQL: FOR NO KEY UPDATE, which
     * still lets enrollment rows reference it). Presentations and changes of one machine that read
     * before they write take it first, so under READ COMMITTED they see each other's rows.
     */
    async findForUpdate(fqdn: string): Promise<Machine | undefined> {
      const [row] = (await (kind === 'postgres' ? findMachineLocked : findMachine)(db, { fqdn })).rows;
      return row ? toMachine(row) : undefined;
    },
    async list(): Promise<MachineListEntry[]> {
      const rows = await db
        .selectFrom('machines as m')
        .selectAll('m')
        .select((eb) => [
          eb.selectFrom('machine_ip_summary as s').select('s.last_seen').whereRef('s.fqdn', '=', 'm.fqdn').orderBy('s.last_seen', 'desc').limit(1).as('last_seen'),
          eb.selectFrom('machine_ip_summary as s').select('s.client_ip').whereRef('s.fqdn', '=', 'm.fqdn').orderBy('s.last_seen', 'desc').limit(1).as('last_ip'),
          eb
            .selectFrom('machine_alerts as a')
            .select((inner) => inner.fn.countAll<number>().as('n'))
            .whereRef('a.fqdn', '=', 'm.fqdn')
            .where('a.status', '=', 'open')
            .as('open_alerts'),
        ])
        .orderBy('m.fqdn')
        .execute();
      return rows.map((row) => ({ ...toMachine(row), lastSeen: row.last_seen, lastIp: row.last_ip, openAlerts: Number(row.open_alerts ?? 0) }));
    },
    async updateDetails(fqdn: string, details: { location: string | null; networks: readonly string[]; entitlements: readonly string[] }): Promise<boolean> {
      const result = await db
        .updateTable('machines')
        .set({ location: details.location, networks: JSON.stringify(details.networks), entitlements: JSON.stringify(details.entitlements) })
        .where('fqdn', '=', fqdn)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
    /**
     * Compare-and-set: moves the version from `expected` and returns the machine as changed;
     * undefined when someone else moved it first (on PostgreSQL a concurrent writer waits for the
     * row and then finds `version` no longer equal to `expected`: no lost update, no reuse).
     */
    async setVersion(fqdn: string, expected: number, change: VersionChange): Promise<Machine | undefined> {
      const row = await db
        .updateTable('machines')
        .set({ version: change.version, set_by: change.setBy, set_at: change.setAt, expires_at: change.expiresAt })
        .where('fqdn', '=', fqdn)
        .where('version', '=', expected)
        .returningAll()
        .executeTakeFirst();
      return row ? toMachine(row) : undefined;
    },
    /** A conditional UPDATE: true only for the one caller that moved the status from `from`. */
    async setStatus(fqdn: string, from: MachineStatus, to: MachineStatus): Promise<boolean> {
      const result = await db.updateTable('machines').set({ status: to }).where('fqdn', '=', fqdn).where('status', '=', from).executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
    async addEvent(event: NewMachineEvent): Promise<void> {
      await db
        .insertInto('machine_events')
        .values({
          fqdn: event.fqdn,
          action: event.action,
          version: event.version ?? null,
          actor: event.actor,
          at: event.at,
          client_ip: event.clientIp ?? null,
          reason: event.reason ?? null,
          detail: event.detail ?? null,
        })
        .execute();
    },
    async events(fqdn: string, limit = 200): Promise<MachineEvent[]> {
      const rows = await db.selectFrom('machine_events').selectAll().where('fqdn', '=', fqdn).orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toEvent);
    },
    async setting(name: string): Promise<string | undefined> {
      const [row] = (await findSetting(db, { name })).rows;
      return row?.value;
    },
    /**
     * Writes a numeric setting that only ever grows (the invalid-before cutoff): one upsert whose
     * update applies only when the stored number is not larger. False when a larger one is stored.
     */
    async raiseNumericSetting(name: string, value: number, setBy: string, setAt: number): Promise<boolean> {
      const row = await db
        .insertInto('machine_settings')
        .values({ name, value: String(value), set_by: setBy, set_at: setAt })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), set_by: eb.ref('excluded.set_by'), set_at: eb.ref('excluded.set_at') }))
            .where((eb) => eb(eb.cast('machine_settings.value', 'bigint'), '<=', eb.cast('excluded.value', 'bigint'))),
        )
        .returning('name')
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
