import { sql, type Expression, type SqlBool } from 'kysely';
import type { Queryable } from '../store/store.ts';
import { toEvent, type MachineAction, type MachineEvent, type MachineListEntry } from '../machines/machines-repository.ts';

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

/**
 * `column LIKE pattern ESCAPE '\'`, lower-cased on both sides: SQLite's LIKE ignores ASCII case and
 * PostgreSQL's does not; SQLite has no default escape character, so it is named.
 */
const contains = (column: 'fqdn' | 'actor', text: string): Expression<SqlBool> => sql<SqlBool>`lower(${sql.ref(column)}) LIKE ${like(asciiLower(text))} ESCAPE '\\'`;

/** lower() of both engines (SQLite's, PostgreSQL's under COLLATE "C") folds ASCII letters only: so does the pattern. */
const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

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

/** Sightings of one address and outcome within one timeline slot, counted by the store (`at`: the first). */
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

/** 1 when `condition` holds, else 0: sum() of it counts rows (SQLite's sum(boolean) does not exist on PostgreSQL). */
const oneIf = (condition: Expression<SqlBool>) => sql<number>`CASE WHEN ${condition} THEN 1 ELSE 0 END`;

const MINT_ACTIONS = ['mint', 'enroll_redeem'] as const;
const CHANGE_ACTIONS = ['mint', 'enroll_redeem', 'revoke', 'suspend', 'auto_suspend'] as const;
const LOGIN_EVENTS = ['login.success', 'login.failure', 'login.throttled'] as const;

/**
 * `db` is the store's connection. Every query runs on both engines: no scalar max(), no
 * strftime, integer literals where SQLite must divide integers (better-sqlite3 binds numbers as
 * REAL), aliases in GROUP BY only where PostgreSQL accepts them (output columns).
 */
export function createConsoleQueries(db: Queryable) {
  return {
    async openAlertCount(): Promise<number> {
      const row = await db.selectFrom('machine_alerts').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'open').executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async recentChanges(limit = 10): Promise<MachineEvent[]> {
      const rows = await db.selectFrom('machine_events').selectAll().where('action', 'in', CHANGE_ACTIONS).orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toEvent);
    },
    /** Mints and revocations per UTC day, from `firstDay` (a day number) on. */
    async changesPerDay(firstDay: number): Promise<DayCount[]> {
      const rows = await db
        .selectFrom('machine_events')
        .select((eb) => [
          sql<number>`${eb.ref('at')} / ${sql.lit(DAY)}`.as('day'),
          eb.fn.sum<number>(oneIf(eb('action', 'in', MINT_ACTIONS))).as('mints'),
          eb.fn.sum<number>(oneIf(eb('action', '=', 'revoke'))).as('revocations'),
        ])
        .where('at', '>=', firstDay * DAY)
        .groupBy('day')
        .orderBy('day')
        .execute();
      return rows.map((row) => ({ day: Number(row.day), mints: Number(row.mints), revocations: Number(row.revocations) }));
    },
    /** Password logins per UTC hour since `since` (unix seconds): successes and failures. */
    async loginsPerHour(since: number): Promise<HourCount[]> {
      const from = new Date(Math.floor(since / HOUR) * HOUR * 1000).toISOString();
      // auth_events.at is ISO 8601 UTC text: its first 13 characters name the hour
      const rows = await db
        .selectFrom('auth_events')
        .select((eb) => [
          sql<string>`substr(${eb.ref('at')}, 1, 13)`.as('hour'),
          eb.fn.sum<number>(oneIf(eb('event', '=', 'login.success'))).as('success'),
          eb.fn.sum<number>(oneIf(eb('event', 'in', ['login.failure', 'login.throttled']))).as('failure'),
        ])
        .where('at', '>=', from)
        .where('event', 'in', LOGIN_EVENTS)
        .groupBy('hour')
        .orderBy('hour')
        .execute();
      return rows.map((row) => ({ hour: Date.parse(`${row.hour}:00:00Z`) / 1000, success: Number(row.success), failure: Number(row.failure) }));
    },
    async history(filter: HistoryFilter): Promise<MachineEvent[]> {
      const actions = HISTORY_KINDS[filter.kind] ?? [];
      let query = db.selectFrom('machine_events').selectAll().where('at', '>=', filter.since).where('at', '<=', filter.until);
      if (actions.length > 0) query = query.where('action', 'in', actions);
      if (filter.fqdn !== '') query = query.where(contains('fqdn', filter.fqdn));
      if (filter.actor !== '') query = query.where(contains('actor', filter.actor));
      const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
      return rows.map(toEvent);
    },
    /** Presentations since `since`, of one machine (its name verified or only claimed) or of all (`fqdn` ''). */
    async sightings(since: number, fqdn: string, limit: number): Promise<SightingExportRow[]> {
      let query = db
        .selectFrom('machine_sightings')
        .select(['at', 'fqdn', 'claimed_fqdn', 'client_ip', 'network', 'app_id', 'version', 'outcome', 'reason', 'user_agent'])
        .where('at', '>=', since);
      if (fqdn !== '') query = query.where((eb) => eb.or([eb('fqdn', '=', fqdn), eb('claimed_fqdn', '=', fqdn)]));
      const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map((row) => ({
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
    /**
     * Every presentation of a machine since `since`, for its timeline (claims without a valid
     * signature included), counted per address, outcome and slot. `slotSeconds`: the timeline's slot
     * (timelineSlotSeconds), so SQL and the drawing agree on every slot.
     */
    async laneSightings(fqdn: string, since: number, slotSeconds: number): Promise<LaneSighting[]> {
      const rows = slotSeconds >= HOUR ? await laneHours(fqdn, since, slotSeconds) : await laneSightings(fqdn, since, slotSeconds);
      return rows.map((row) => ({ ...row, at: Number(row.at), lastAt: Number(row.lastAt), count: Number(row.count) }));
    },
  };

  // Timelines over days count from the hourly rollup (machine_sighting_hours), regrouped into the
  // timeline's slots (an hour is counted in the slot it starts in): a busy kiosk's month is a few
  // thousand rollup rows, not its tens of thousands of sightings (test/durability/growth.test.ts).
  function laneHours(fqdn: string, since: number, slot: number) {
    return db
      .selectFrom('machine_sighting_hours')
      .select((eb) => [
        eb.fn.min('first_at').as('at'),
        eb.fn.max('last_at').as('lastAt'),
        eb.ref('client_ip').as('clientIp'),
        eb.fn.max('network').as('network'),
        'outcome',
        eb.fn.sum<number>('count').as('count'),
      ])
      .where('name', '=', fqdn)
      .where('hour_start', '>=', since - (since % HOUR))
      .where('last_at', '>=', since)
      .groupBy((eb) => ['client_ip', 'outcome', slotOf(eb.case().when('hour_start', '>', since).then(eb.ref('hour_start')).else(since).end(), since, slot)])
      .execute();
  }

  // The one-day timeline (15-minute slots) counts the day's sightings themselves. (The inner time
  // is `t`: in GROUP BY, SQLite would read `at` as the outer alias min(at).)
  function laneSightings(fqdn: string, since: number, slot: number) {
    const verified = db.selectFrom('machine_sightings').select(['at as t', 'client_ip as clientIp', 'network', 'outcome']).where('fqdn', '=', fqdn).where('at', '>=', since);
    const claimed = db
      .selectFrom('machine_sightings')
      .select(['at as t', 'client_ip as clientIp', 'network', 'outcome'])
      .where('claimed_fqdn', '=', fqdn)
      .where('fqdn', 'is', null)
      .where('at', '>=', since);
    return db
      .selectFrom(verified.unionAll(claimed).as('s'))
      .select((eb) => [eb.fn.min('t').as('at'), eb.fn.max('t').as('lastAt'), 'clientIp', 'network', 'outcome', eb.fn.countAll<number>().as('count')])
      .groupBy((eb) => ['clientIp', 'network', 'outcome', slotOf(eb.ref('t'), since, slot)])
      .execute();
  }
}

/** The slot a time falls in, counted from `since`: an integer on both engines (the cast truncates SQLite's REAL division). */
function slotOf(time: Expression<number>, since: number, slot: number) {
  return sql<number>`CAST((${time} - ${since}) / ${slot} AS INTEGER)`;
}

/** The console's queries for this store's connection (they prepare nothing: creating them is free). */
export function consoleQueries(db: Queryable): ConsoleQueries {
  return createConsoleQueries(db);
}
