import type { Db } from '../db/database.ts';

export type AlertRule = 'outside_networks' | 'teleport' | 'clone';
export type AlertStatus = 'open' | 'closed';

export interface MachineAlert {
  readonly id: number;
  readonly fqdn: string;
  readonly rule: AlertRule;
  readonly clientIp: string;
  readonly previousIp: string | null;
  readonly detail: string;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly count: number;
  readonly suspended: boolean;
  readonly status: AlertStatus;
  readonly closedBy: string | null;
  readonly closedAt: number | null;
}

export interface RaisedAlert {
  readonly fqdn: string;
  readonly rule: AlertRule;
  readonly clientIp: string;
  readonly previousIp: string | null;
  readonly detail: string;
}

interface AlertDbRow {
  id: number;
  fqdn: string;
  rule: AlertRule;
  client_ip: string;
  previous_ip: string | null;
  detail: string;
  first_at: number;
  last_at: number;
  count: number;
  suspended: number;
  status: AlertStatus;
  closed_by: string | null;
  closed_at: number | null;
}

const toAlert = (row: AlertDbRow): MachineAlert => ({
  id: row.id,
  fqdn: row.fqdn,
  rule: row.rule,
  clientIp: row.client_ip,
  previousIp: row.previous_ip,
  detail: row.detail,
  firstAt: row.first_at,
  lastAt: row.last_at,
  count: row.count,
  suspended: row.suspended === 1,
  status: row.status,
  closedBy: row.closed_by,
  closedAt: row.closed_at,
});

export type AlertsRepository = ReturnType<typeof createAlertsRepository>;

export function createAlertsRepository(db: Db) {
  const selectOpen = db.prepare<[string, AlertRule, string], { id: number }>(
    "SELECT id FROM machine_alerts WHERE fqdn = ? AND status = 'open' AND rule = ? AND client_ip = ?",
  );
  const insert = db.prepare(
    `INSERT INTO machine_alerts (fqdn, rule, client_ip, previous_ip, detail, first_at, last_at, count, suspended, status)
     VALUES (@fqdn, @rule, @clientIp, @previousIp, @detail, @at, @at, 1, @suspended, 'open')`,
  );
  const bump = db.prepare(
    'UPDATE machine_alerts SET last_at = @at, count = count + 1, detail = @detail, previous_ip = @previousIp, suspended = max(suspended, @suspended) WHERE id = @id',
  );
  const close = db.prepare("UPDATE machine_alerts SET status = 'closed', closed_by = @by, closed_at = @at WHERE id = @id AND status = 'open'");
  const selectById = db.prepare<[number], AlertDbRow>('SELECT * FROM machine_alerts WHERE id = ?');
  const selectForMachine = db.prepare<[string, number], AlertDbRow>('SELECT * FROM machine_alerts WHERE fqdn = ? ORDER BY id DESC LIMIT ?');
  const selectByStatus = db.prepare<[AlertStatus, number], AlertDbRow>('SELECT * FROM machine_alerts WHERE status = ? ORDER BY id DESC LIMIT ?');
  const selectAll = db.prepare<[number], AlertDbRow>('SELECT * FROM machine_alerts ORDER BY id DESC LIMIT ?');

  return {
    /** A new open alert, or one more occurrence of the open alert with the same machine, rule and address. */
    raise(alert: RaisedAlert, at: number, suspended: boolean): number {
      const params = { ...alert, at, suspended: suspended ? 1 : 0 };
      const open = selectOpen.get(alert.fqdn, alert.rule, alert.clientIp);
      if (open) {
        bump.run({ ...params, id: open.id });
        return open.id;
      }
      return Number(insert.run(params).lastInsertRowid);
    },
    close(id: number, by: string, at: number): boolean {
      return close.run({ id, by, at }).changes === 1;
    },
    find(id: number): MachineAlert | undefined {
      const row = selectById.get(id);
      return row ? toAlert(row) : undefined;
    },
    forMachine(fqdn: string, limit = 100): MachineAlert[] {
      return selectForMachine.all(fqdn, limit).map(toAlert);
    },
    list(status: AlertStatus | 'all', limit = 500): MachineAlert[] {
      return (status === 'all' ? selectAll.all(limit) : selectByStatus.all(status, limit)).map(toAlert);
    },
  };
}
