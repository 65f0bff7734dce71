import type { Db } from '../db/database.ts';
import { toEvent, type EventDbRow, type MachineAction, type MachineEvent, type MachineListEntry } from '../machines/machines-repository.ts';

/**
 * Read-only queries of the admin console (dashboard, history, exports) across all machines. They
 * read the tables directly, beside the repositories that write them, so the console adds no
 * write paths and the repositories stay as the machine flows need them.
 */

const DAY = 86_400;
const HOUR = 3600;

/** The machine states an admin acts on, in the order the dashboard shows them. */
export const MACHINE_STATES = ['working', 'expiring', 'no-cookie', 'suspended'] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/** working: active with a cookie valid beyond 14 days; expiring: within 14 days; no-cookie: none valid. */
export function machineState(machine: MachineListEntry, now: number): MachineState {
  if (machine.status === 'suspended') return 'suspended';
  if (machine.expiresAt === null || machine.expiresAt <= now) return 'no-cookie';
  return machine.expiresAt <= now + 14 * DAY ? 'expiring' : 'working';
}

export function countByState(machines: readonly MachineListEntry[], now: number): Record<MachineState, number> {
  const counts: Record<MachineState, number> = { working: 0, expiring: 0, 'no-cookie': 0, suspended: 0 };
  for (const machine of machines) counts[machineState(machine, now)] += 1;
  return counts;
}

/** Active machines whose current cookie expires within `days` (and has not expired yet). */
export function expiringWithin(machines: readonly MachineListEntry[], now: number, days: number): number {
  return machines.filter((m) => m.status === 'active' && m.expiresAt !== null && m.expiresAt > now && m.expiresAt <= now + days * DAY).length;
}

/** The history page's groups of actions, by the name its filter uses. */
export const HISTORY_KINDS: Readonly<Record<string, readonly MachineAction[]>> = {
  all: [],
  mints: ['mint', 'enroll_redeem'],
  revocations: ['revoke', 'invalidate_before', 'rotate_key'],
  suspensions: ['suspend', 'auto_suspend', 'reactivate'],
  enrollments: ['enroll_create', 'enroll_cancel', 'enroll_redeem', 'enroll_refused'],
  registrations: ['add', 'update'],
  refusals: ['mint_denied', 'enroll_refused'],
  alerts: ['alert_close'],
};

export interface HistoryFilter {
  readonly kind: string;
  /** substring of the machine name */
  readonly fqdn: string;
  /** substring of who did it */
  readonly actor: string;
  /** unix seconds, inclusive */
  readonly since: number;
  readonly until: number;
  readonly limit: number;
}

/** LIKE with the user's text taken literally (% and _ escaped). */
const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export interface HourCount {
  /** unix seconds of the hour's start */
  readonly hour: number;
  readonly success: number;
  readonly failure: number;
}

export interface DayCount {
  readonly day: number;
  readonly mints: number;
  readonly revocations: number;
}

export interface SightingExportRow {
  readonly at: number;
  readonly fqdn: string | null;
  readonly claimedFqdn: string | null;
  readonly clientIp: string;
  readonly network: string;
  readonly appId: string | null;
  readonly version: number | null;
  readonly outcome: string;
  readonly reason: string | null;
  readonly userAgent: string | null;
}

/** Sightings of one address and outcome within one timeline slot, counted by SQLite (`at`: the first). */
export interface LaneSighting {
  readonly at: number;
  readonly clientIp: string;
  readonly network: string;
  readonly outcome: 'accepted' | 'rejected';
  readonly count: number;
  /** the last of them */
  readonly lastAt: number;
}

export type ConsoleQueries = ReturnType<typeof createConsoleQueries>;

export function createConsoleQueries(db: Db) {
  const openAlerts = db.prepare<[], number>("SELECT count(*) FROM machine_alerts WHERE status = 'open'").pluck();
  const recentChanges = db.prepare<[number], EventDbRow>(
    "SELECT * FROM machine_events WHERE action IN ('mint', 'enroll_redeem', 'revoke', 'suspend', 'auto_suspend') ORDER BY id DESC LIMIT ?",
  );
  const changesPerDay = db.prepare<[number], { day: number; mints: number; revocations: number }>(
    `SELECT at / 86400 AS day, sum(action IN ('mint', 'enroll_redeem')) AS mints, sum(action = 'revoke') AS revocations
       FROM machine_events WHERE at >= ? GROUP BY day ORDER BY day`,
  );
  // auth_events.at is ISO 8601 UTC text: its first 13 characters name the hour
  const loginsPerHour = db.prepare<[string], { hour: string; success: number; failure: number }>(
    `SELECT substr(at, 1, 13) AS hour, sum(event = 'login.success') AS success, sum(event IN ('login.failure', 'login.throttled')) AS failure
       FROM auth_events WHERE at >= ? AND event IN ('login.success', 'login.failure', 'login.throttled') GROUP BY hour ORDER BY hour`,
  );
  const sightingsExport = db.prepare<[{ since: number; fqdn: string; limit: number }], { at: number; fqdn: string | null; claimed_fqdn: string | null; client_ip: string; network: string; app_id: string | null; version: number | null; outcome: string; reason: string | null; user_agent: string | null }>(
    `SELECT at, fqdn, claimed_fqdn, client_ip, network, app_id, version, outcome, reason, user_agent FROM machine_sightings
      WHERE at >= @since AND (@fqdn = '' OR fqdn = @fqdn OR claimed_fqdn = @fqdn) ORDER BY at DESC, id DESC LIMIT @limit`,
  );
  // Timelines over days count from the hourly rollup (machine_sighting_hours), regrouped into the
  // timeline's slots (an hour is counted in the slot it starts in): a busy kiosk's month is a few
  // thousand rollup rows, not its tens of thousands of sightings (test/durability/growth.test.ts).
  // The one-day timeline (15-minute slots) counts the day's sightings themselves.
  const laneHours = db.prepare<{ fqdn: string; since: number; slot: number }, LaneSighting>(
    `SELECT min(first_at) AS at, max(last_at) AS lastAt, client_ip AS clientIp, max(network) AS network, outcome, sum(count) AS count
       FROM machine_sighting_hours
      WHERE name = @fqdn AND hour_start >= @since - @since % 3600 AND last_at >= @since
      GROUP BY client_ip, outcome, CAST((max(hour_start, @since) - @since) / @slot AS INTEGER)`,
  );
  // (the inner time is \`t\`: in GROUP BY, SQLite would read \`at\` as the outer alias min(at))
  const laneSightings = db.prepare<{ fqdn: string; since: number; slot: number }, LaneSighting>(
    `SELECT min(t) AS at, max(t) AS lastAt, clientIp, network, outcome, count(*) AS count FROM (
       SELECT at AS t, client_ip AS clientIp, network, outcome FROM machine_sightings WHERE fqdn = @fqdn AND at >= @since
       UNION ALL
       SELECT at AS t, client_ip AS clientIp, network, outcome FROM machine_sightings WHERE claimed_fqdn = @fqdn AND fqdn IS NULL AND at >= @since)
     GROUP BY clientIp, network, outcome, CAST((t - @since) / @slot AS INTEGER)`,
  );




  return {
    openAlertCount(): number {
      return openAlerts.get() ?? 0;
    },
    recentChanges(limit = 10): MachineEvent[] {
      return recentChanges.all(limit).map(toEvent);
    },
    /** Mints and revocations per UTC day, from `firstDay` (a day number) on. */
    changesPerDay(firstDay: number): DayCount[] {
      return changesPerDay.all(firstDay * DAY);
    },
    /** Password logins per UTC hour since `since` (unix seconds): successes and failures. */
    loginsPerHour(since: number): HourCount[] {
      const from = new Date(Math.floor(since / HOUR) * HOUR * 1000).toISOString();
      return loginsPerHour.all(from).map((row) => ({ hour: Date.parse(`${row.hour}:00:00Z`) / 1000, success: row.success, failure: row.failure }));
    },
    history(filter: HistoryFilter): MachineEvent[] {
      const actions = HISTORY_KINDS[filter.kind] ?? [];
      const where = ['at >= ?', 'at <= ?'];
      const params: Array<string | number> = [filter.since, filter.until];
      if (actions.length > 0) {
        where.push(`action IN (${actions.map(() => '?').join(', ')})`);
        params.push(...actions);
      }
      if (filter.fqdn !== '') {
        where.push("fqdn LIKE ? ESCAPE '\\'");
        params.push(like(filter.fqdn.toLowerCase()));
      }
      if (filter.actor !== '') {
        where.push("actor LIKE ? ESCAPE '\\'");
        params.push(like(filter.actor));
      }
      const sql = `SELECT * FROM machine_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`;
      return db.prepare<Array<string | number>, EventDbRow>(sql).all(...params, filter.limit).map(toEvent);
    },
    /** Presentations since `since`, of one machine (its name verified or only claimed) or of all (`fqdn` ''). */
    sightings(since: number, fqdn: string, limit: number): SightingExportRow[] {
      return sightingsExport.all({ since, fqdn, limit }).map((row) => ({
        at: row.at,
        fqdn: row.fqdn,
        claimedFqdn: row.claimed_fqdn,
        clientIp: row.client_ip,
        network: row.network,
        appId: row.app_id,
        version: row.version,
        outcome: row.outcome,
        reason: row.reason,
        userAgent: row.user_agent,
      }));
    },
    /** Every presentation of a machine since `since`, for its timeline (claims without a valid signature included). */
    /** `slotSeconds`: the timeline's slot (timelineSlotSeconds), so SQL and the drawing agree on every slot. */
    laneSightings(fqdn: string, since: number, slotSeconds: number): LaneSighting[] {
      return (slotSeconds >= 3600 ? laneHours : laneSightings).all({ fqdn, since, slot: slotSeconds });
    },
  };
}

const byDb = new WeakMap<Db, ConsoleQueries>();

/** The console's queries for this database, prepared once. */
export function consoleQueries(db: Db): ConsoleQueries {
  let queries = byDb.get(db);
  if (!queries) {
    queries = createConsoleQueries(db);
    byDb.set(db, queries);
  }
  return queries;
}
