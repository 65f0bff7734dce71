import type { Db } from '../db/database.ts';

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

interface MachineDbRow {
  fqdn: string;
  version: number;
  set_by: string;
  set_at: number;
  expires_at: number | null;
  status: MachineStatus;
  location: string | null;
  networks: string;
  entitlements: string;
  created_by: string;
  created_at: number;
}

/** A machine_events row as SQLite returns it (the admin console's queries read the same rows). */
export interface EventDbRow {
  id: number;
  fqdn: string;
  action: MachineAction;
  version: number | null;
  actor: string;
  at: number;
  client_ip: string | null;
  reason: string | null;
  detail: string | null;
}

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
  action: row.action,
  version: row.version,
  actor: row.actor,
  at: row.at,
  clientIp: row.client_ip,
  reason: row.reason,
  detail: row.detail,
});

export type MachinesRepository = ReturnType<typeof createMachinesRepository>;

/** The version table, its append-only history and the global settings. */
export function createMachinesRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO machines (fqdn, version, set_by, set_at, expires_at, status, location, networks, entitlements, created_by, created_at)
     VALUES (@fqdn, 0, @createdBy, @createdAt, NULL, 'active', @location, @networks, @entitlements, @createdBy, @createdAt)`,
  );
  const select = db.prepare<[string], MachineDbRow>('SELECT * FROM machines WHERE fqdn = ?');
  const selectList = db.prepare<[], MachineDbRow & { last_seen: number | null; last_ip: string | null; open_alerts: number }>(
    `SELECT m.*,
            (SELECT s.last_seen FROM machine_ip_summary s WHERE s.fqdn = m.fqdn ORDER BY s.last_seen DESC LIMIT 1) AS last_seen,
            (SELECT s.client_ip FROM machine_ip_summary s WHERE s.fqdn = m.fqdn ORDER BY s.last_seen DESC LIMIT 1) AS last_ip,
            (SELECT count(*) FROM machine_alerts a WHERE a.fqdn = m.fqdn AND a.status = 'open') AS open_alerts
       FROM machines m ORDER BY m.fqdn`,
  );
  const updateDetails = db.prepare('UPDATE machines SET location = @location, networks = @networks, entitlements = @entitlements WHERE fqdn = @fqdn');
  // Compare-and-set: the version moves only from the value the caller read (no lost update, no reuse).
  const updateVersion = db.prepare(
    'UPDATE machines SET version = @version, set_by = @setBy, set_at = @setAt, expires_at = @expiresAt WHERE fqdn = @fqdn AND version = @expected',
  );
  const updateStatus = db.prepare('UPDATE machines SET status = @to WHERE fqdn = @fqdn AND status = @from');
  const insertEvent = db.prepare(
    'INSERT INTO machine_events (fqdn, action, version, actor, at, client_ip, reason, detail) VALUES (@fqdn, @action, @version, @actor, @at, @clientIp, @reason, @detail)',
  );
  const selectEvents = db.prepare<[string, number], EventDbRow>('SELECT * FROM machine_events WHERE fqdn = ? ORDER BY id DESC LIMIT ?');
  const selectSetting = db.prepare<[string], { value: string }>('SELECT value FROM machine_settings WHERE name = ?');
  const upsertSetting = db.prepare(
    `INSERT INTO machine_settings (name, value, set_by, set_at) VALUES (@name, @value, @setBy, @setAt)
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, set_at = excluded.set_at`,
  );

  return {
    insert(machine: NewMachine): void {
      insert.run({ ...machine, networks: JSON.stringify(machine.networks), entitlements: JSON.stringify(machine.entitlements) });
    },
    find(fqdn: string): Machine | undefined {
      const row = select.get(fqdn);
      return row ? toMachine(row) : undefined;
    },
    list(): MachineListEntry[] {
      return selectList.all().map((row) => ({ ...toMachine(row), lastSeen: row.last_seen, lastIp: row.last_ip, openAlerts: row.open_alerts }));
    },
    updateDetails(fqdn: string, details: { location: string | null; networks: readonly string[]; entitlements: readonly string[] }): boolean {
      return updateDetails.run({ fqdn, location: details.location, networks: JSON.stringify(details.networks), entitlements: JSON.stringify(details.entitlements) }).changes === 1;
    },
    /** Moves the version from `expected`; false when someone else moved it first. */
    setVersion(fqdn: string, expected: number, change: { version: number; setBy: string; setAt: number; expiresAt: number | null }): boolean {
      return updateVersion.run({ fqdn, expected, ...change }).changes === 1;
    },
    setStatus(fqdn: string, from: MachineStatus, to: MachineStatus): boolean {
      return updateStatus.run({ fqdn, from, to }).changes === 1;
    },
    addEvent(event: NewMachineEvent): void {
      insertEvent.run({
        fqdn: event.fqdn,
        action: event.action,
        version: event.version ?? null,
        actor: event.actor,
        at: event.at,
        clientIp: event.clientIp ?? null,
        reason: event.reason ?? null,
        detail: event.detail ?? null,
      });
    },
    events(fqdn: string, limit = 200): MachineEvent[] {
      return selectEvents.all(fqdn, limit).map(toEvent);
    },
    setting(name: string): string | undefined {
      return selectSetting.get(name)?.value;
    },
    setSetting(name: string, value: string, setBy: string, setAt: number): void {
      upsertSetting.run({ name, value, setBy, setAt });
    },
  };
}
