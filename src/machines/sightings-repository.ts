import { sql, type Insertable, type Selectable } from 'kysely';
import { prepareQuery, type Param } from '../store/prepared-query.ts';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

export type SightingOutcome = 'accepted' | 'rejected';

export interface NewSighting {
  readonly at: number;
  /** set only when the cookie's signature verified */
  readonly fqdn: string | null;
  readonly claimedFqdn: string | null;
  readonly jtiHash: string | null;
  readonly version: number | null;
  readonly clientIp: string;
  readonly network: string;
  readonly userAgent: string | null;
  readonly appId: string | null;
  readonly outcome: SightingOutcome;
  readonly reason: string | null;
}

export interface Sighting extends NewSighting {
  readonly id: number;
}

export interface AddressSummary {
  readonly clientIp: string;
  readonly network: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  readonly rejectedCount: number;
}

/** An earlier accepted sighting, as the anomaly rules read it. */
export interface AcceptedSighting {
  readonly at: number;
  readonly clientIp: string;
  readonly network: string;
}

type SightingDbRow = Selectable<Tables['machine_sightings']>;
type SightingDbRowInsert = Omit<Insertable<Tables['machine_sightings']>, 'id'>;

const toSighting = (row: SightingDbRow): Sighting => ({
  id: row.id,
  at: row.at,
  fqdn: row.fqdn,
  claimedFqdn: row.claimed_fqdn,
  jtiHash: row.jti_hash,
  version: row.version,
  clientIp: row.client_ip,
  network: row.network,
  userAgent: row.user_agent,
  appId: row.app_id,
  outcome: row.outcome,
  reason: row.reason,
});

export type SightingsRepository = ReturnType<typeof createSightingsRepository>;

/** The rollup's granularity (machine_sighting_hours). */
export const ROLLUP_SECONDS = 3600;

type HourParams = { name: string; hourStart: number; verified: number; clientIp: string; outcome: SightingOutcome; network: string; at: number };
type SummaryParams = { fqdn: string; clientIp: string; network: string; at: number; rejected: number };

// A presentation's statements, compiled once (src/store/prepared-query.ts): building the upserts'
// CASE expressions per call was the largest part of Kysely's cost on the machine path.
const insertSighting = prepareQuery((db, param: Param<Required<SightingDbRowInsert>>) =>
  db.insertInto('machine_sightings').values({
    at: param('at'),
    fqdn: param('fqdn'),
    claimed_fqdn: param('claimed_fqdn'),
    jti_hash: param('jti_hash'),
    version: param('version'),
    client_ip: param('client_ip'),
    network: param('network'),
    user_agent: param('user_agent'),
    app_id: param('app_id'),
    outcome: param('outcome'),
    reason: param('reason'),
  }),
);

const upsertHour = prepareQuery((db, param: Param<HourParams>) =>
  db
    .insertInto('machine_sighting_hours')
    .values({ name: param('name'), hour_start: param('hourStart'), verified: param('verified'), client_ip: param('clientIp'), outcome: param('outcome'), network: param('network'), count: 1, first_at: param('at'), last_at: param('at') })
    .onConflict((oc) =>
      oc.columns(['name', 'hour_start', 'verified', 'client_ip', 'outcome']).doUpdateSet((eb) => ({
        network: eb.ref('excluded.network'),
        count: eb('machine_sighting_hours.count', '+', 1),
        // scalar min/max differ between the engines (min/max vs least/greatest): a CASE is both
        first_at: eb.case().when('excluded.first_at', '<', eb.ref('machine_sighting_hours.first_at')).then(eb.ref('excluded.first_at')).else(eb.ref('machine_sighting_hours.first_at')).end(),
        last_at: eb.case().when('excluded.last_at', '>', eb.ref('machine_sighting_hours.last_at')).then(eb.ref('excluded.last_at')).else(eb.ref('machine_sighting_hours.last_at')).end(),
      })),
    ),
);

const upsertSummary = prepareQuery((db, param: Param<SummaryParams>) =>
  db
    .insertInto('machine_ip_summary')
    .values({ fqdn: param('fqdn'), client_ip: param('clientIp'), network: param('network'), first_seen: param('at'), last_seen: param('at'), count: 1, rejected_count: param('rejected') })
    .onConflict((oc) =>
      oc.columns(['fqdn', 'client_ip']).doUpdateSet((eb) => ({
        network: eb.ref('excluded.network'),
        last_seen: eb.case().when('excluded.last_seen', '>', eb.ref('machine_ip_summary.last_seen')).then(eb.ref('excluded.last_seen')).else(eb.ref('machine_ip_summary.last_seen')).end(),
        count: eb('machine_ip_summary.count', '+', 1),
        rejected_count: eb('machine_ip_summary.rejected_count', '+', eb.ref('excluded.rejected_count')),
      })),
    ),
);

/**
 * The machine's last accepted sighting (any cookie) and the last accepted sighting of this cookie
 * (any time), in one round trip; each is the first row of an index read backwards
 * (machine_sightings_by_outcome, machine_sightings_by_jti).
 */
const latestAccepted = prepareQuery((db, param: Param<{ fqdn: string; jtiHash: string }>) => {
  const columns = ['at', 'client_ip', 'network'] as const;
  const ofMachine = db.selectFrom('machine_sightings').select(columns).select(sql.lit(0).as('of_cookie')).where('fqdn', '=', param('fqdn')).where('outcome', '=', 'accepted').orderBy('id', 'desc').limit(sql.lit(1));
  const ofCookie = db.selectFrom('machine_sightings').select(columns).select(sql.lit(1).as('of_cookie')).where('jti_hash', '=', param('jtiHash')).where('outcome', '=', 'accepted').orderBy('id', 'desc').limit(sql.lit(1));
  // each side in a derived table: neither engine takes ORDER BY … LIMIT inside a bare UNION arm;
  // LIMIT as a literal: SQLite plans `LIMIT ?` without the early stop (62 µs per call instead of 10)
  return db.selectFrom(ofMachine.as('m')).selectAll().unionAll(db.selectFrom(ofCookie.as('c')).selectAll());
});

/** Machine-cookie presentations, the per-(FQDN, IP) summary and the hourly rollup beside them. */
export function createSightingsRepository(db: Queryable) {
  return {
    /** Records a sighting and its hourly rollup; authentic ones (fqdn set) also update the address summary. Call inside a transaction. */
    async record(sighting: NewSighting): Promise<void> {
      await insertSighting(db, {
        at: sighting.at,
        fqdn: sighting.fqdn,
        claimed_fqdn: sighting.claimedFqdn,
        jti_hash: sighting.jtiHash,
        version: sighting.version,
        client_ip: sighting.clientIp,
        network: sighting.network,
        user_agent: sighting.userAgent,
        app_id: sighting.appId,
        outcome: sighting.outcome,
        reason: sighting.reason,
      });
      const name = sighting.fqdn ?? sighting.claimedFqdn;
      const at = sighting.at;
      if (name !== null) {
        await upsertHour(db, { name, hourStart: at - (at % ROLLUP_SECONDS), verified: sighting.fqdn !== null ? 1 : 0, clientIp: sighting.clientIp, outcome: sighting.outcome, network: sighting.network, at });
      }
      if (sighting.fqdn !== null) await upsertSummary(db, { fqdn: sighting.fqdn, clientIp: sighting.clientIp, network: sighting.network, at, rejected: sighting.outcome === 'rejected' ? 1 : 0 });
    },
    /** What the anomaly rules look at first: see latestAccepted above. */
    async latestAccepted(fqdn: string, jtiHash: string): Promise<{ ofMachine: AcceptedSighting | undefined; ofCookie: AcceptedSighting | undefined }> {
      const { rows } = await latestAccepted(db, { fqdn, jtiHash });
      const pick = (ofCookieFlag: number) => {
        const row = rows.find((candidate) => Number(candidate.of_cookie) === ofCookieFlag);
        return row && { at: row.at, clientIp: row.client_ip, network: row.network };
      };
      return { ofMachine: pick(0), ofCookie: pick(1) };
    },
    /** Networks an accepted cookie id was seen from since `since`, newest first (the clone rule, when the network changed). */
    async recentNetworksForJti(jtiHash: string, since: number, limit = 500): Promise<Array<{ network: string; at: number }>> {
      return db
        .selectFrom('machine_sightings')
        .select(['network', 'at'])
        .where('jti_hash', '=', jtiHash)
        .where('outcome', '=', 'accepted')
        .where('at', '>=', since)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
    },
    /** Every address the machine has presented its cookie from: one primary-key range read. */
    async addresses(fqdn: string): Promise<AddressSummary[]> {
      const rows = await db
        .selectFrom('machine_ip_summary')
        .select(['client_ip', 'network', 'first_seen', 'last_seen', 'count', 'rejected_count'])
        .where('fqdn', '=', fqdn)
        .orderBy('last_seen', 'desc')
        .execute();
      return rows.map((row) => ({
        clientIp: row.client_ip,
        network: row.network,
        firstSeen: row.first_seen,
        lastSeen: row.last_seen,
        count: row.count,
        rejectedCount: row.rejected_count,
      }));
    },
    /**
     * Recent sightings of a machine, including cookies that only claimed its name. Authentic
     * sightings by fqdn, forged or stale ones by the name they claimed (fqdn NULL): each side newest
     * first from its own index and cut to the limit before merging, so a busy kiosk's page does not
     * sort its whole history (and an authentic sighting is listed once, not again by its claim).
     */
    async recent(fqdn: string, limit = 100): Promise<Sighting[]> {
      const verified = db.selectFrom('machine_sightings').selectAll().where('fqdn', '=', fqdn).orderBy('at', 'desc').orderBy('id', 'desc').limit(limit);
      const claimed = db.selectFrom('machine_sightings').selectAll().where('claimed_fqdn', '=', fqdn).where('fqdn', 'is', null).orderBy('at', 'desc').orderBy('id', 'desc').limit(limit);
      const both = db.selectFrom(verified.as('v')).selectAll().unionAll(db.selectFrom(claimed.as('c')).selectAll());
      const rows = await db.selectFrom(both.as('s')).selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toSighting);
    },
  };
}
