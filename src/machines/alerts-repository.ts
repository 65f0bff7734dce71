import type { Selectable } from 'kysely';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

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

type AlertDbRow = Selectable<Tables['machine_alerts']>;

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

/**
 * Anomaly alerts: one open alert per (machine, rule, address), repeats bump its count. `raise`
 * reads before it writes, so it runs in the presentation's transaction after the machine's row was
 * locked (MachinesRepository.findForUpdate): two hosts cannot both open the same alert.
 */
export function createAlertsRepository(db: Queryable) {
  return {
    /** A new open alert, or one more occurrence of the open alert with the same machine, rule and address. */
    async raise(alert: RaisedAlert, at: number, suspended: boolean): Promise<number> {
      const bumped = await db
        .updateTable('machine_alerts')
        .set((eb) => ({
          last_at: at,
          count: eb('count', '+', 1),
          detail: alert.detail,
          previous_ip: alert.previousIp,
          // a suspension is never forgotten by a later occurrence that did not suspend
          ...(suspended ? { suspended: 1 } : {}),
        }))
        .where('fqdn', '=', alert.fqdn)
        .where('status', '=', 'open')
        .where('rule', '=', alert.rule)
        .where('client_ip', '=', alert.clientIp)
        .returning('id')
        .executeTakeFirst();
      if (bumped) return bumped.id;
      const inserted = await db
        .insertInto('machine_alerts')
        .values({
          fqdn: alert.fqdn,
          rule: alert.rule,
          client_ip: alert.clientIp,
          previous_ip: alert.previousIp,
          detail: alert.detail,
          first_at: at,
          last_at: at,
          count: 1,
          suspended: suspended ? 1 : 0,
          status: 'open',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return inserted.id;
    },
    /** A conditional UPDATE: true only for the caller that closed it. */
    async close(id: number, by: string, at: number): Promise<boolean> {
      const result = await db.updateTable('machine_alerts').set({ status: 'closed', closed_by: by, closed_at: at }).where('id', '=', id).where('status', '=', 'open').executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
    async find(id: number): Promise<MachineAlert | undefined> {
      const row = await db.selectFrom('machine_alerts').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAlert(row) : undefined;
    },
    async forMachine(fqdn: string, limit = 100): Promise<MachineAlert[]> {
      const rows = await db.selectFrom('machine_alerts').selectAll().where('fqdn', '=', fqdn).orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toAlert);
    },
    async list(status: AlertStatus | 'all', limit = 500): Promise<MachineAlert[]> {
      let query = db.selectFrom('machine_alerts').selectAll();
      if (status !== 'all') query = query.where('status', '=', status);
      const rows = await query.orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toAlert);
    },
  };
}
