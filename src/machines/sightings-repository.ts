import type { Db } from '../db/database.ts';

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

export interface DailyCount {
  readonly day: number;
  readonly accepted: number;
  readonly rejected: number;
}

interface SightingDbRow {
  id: number;
  at: number;
  fqdn: string | null;
  claimed_fqdn: string | null;
  jti_hash: string | null;
  version: number | null;
  client_ip: string;
  network: string;
  user_agent: string | null;
  app_id: string | null;
  outcome: SightingOutcome;
  reason: string | null;
}

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

/** Machine-cookie presentations and the per-(FQDN, IP) summary beside them. */
export function createSightingsRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO machine_sightings (at, fqdn, claimed_fqdn, jti_hash, version, client_ip, network, user_agent, app_id, outcome, reason)
     VALUES (@at, @fqdn, @claimedFqdn, @jtiHash, @version, @clientIp, @network, @userAgent, @appId, @outcome, @reason)`,
  );
  const upsertSummary = db.prepare(
    `INSERT INTO machine_ip_summary (fqdn, client_ip, network, first_seen, last_seen, count, rejected_count)
     VALUES (@fqdn, @clientIp, @network, @at, @at, 1, @rejected)
     ON CONFLICT (fqdn, client_ip) DO UPDATE SET
       network = excluded.network,
       last_seen = max(last_seen, excluded.last_seen),
       count = count + 1,
       rejected_count = rejected_count + excluded.rejected_count`,
  );
  const upsertSlot = db.prepare(
    `INSERT INTO machine_sighting_hours (name, hour_start, verified, client_ip, outcome, network, count, first_at, last_at)
     VALUES (@name, @at - @at % ${ROLLUP_SECONDS}, @verified, @clientIp, @outcome, @network, 1, @at, @at)
     ON CONFLICT (name, hour_start, verified, client_ip, outcome) DO UPDATE SET
       network = excluded.network, count = count + 1, first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)`,
  );
  const selectLastAccepted = db.prepare<[string], SightingDbRow>(
    "SELECT * FROM machine_sightings WHERE fqdn = ? AND outcome = 'accepted' ORDER BY id DESC LIMIT 1",
  );
  const selectRecentForJti = db.prepare<[string, number, number], { network: string; at: number }>(
    "SELECT network, at FROM machine_sightings WHERE jti_hash = ? AND outcome = 'accepted' AND at >= ? ORDER BY id DESC LIMIT ?",
  );
  const selectAddresses = db.prepare<[string], { client_ip: string; network: string; first_seen: number; last_seen: number; count: number; rejected_count: number }>(
    'SELECT client_ip, network, first_seen, last_seen, count, rejected_count FROM machine_ip_summary WHERE fqdn = ? ORDER BY last_seen DESC',
  );
  // Authentic sightings by fqdn, forged or stale ones by the name they claimed (fqdn NULL): each side
  // newest first from its own index and cut to the limit before merging, so a busy kiosk's page does
  // not sort its whole history (and an authentic sighting is listed once, not again by its claim).
  const selectRecent = db.prepare<{ fqdn: string; limit: number }, SightingDbRow>(
    `SELECT * FROM (
       SELECT * FROM (SELECT * FROM machine_sightings WHERE fqdn = @fqdn ORDER BY at DESC, id DESC LIMIT @limit)
       UNION ALL
       SELECT * FROM (SELECT * FROM machine_sightings WHERE claimed_fqdn = @fqdn AND fqdn IS NULL ORDER BY at DESC, id DESC LIMIT @limit)
     ) ORDER BY at DESC, id DESC LIMIT @limit`,
  );
  const selectDaily = db.prepare<[string, number], DailyCount>(
    `SELECT at / 86400 AS day,
            sum(outcome = 'accepted') AS accepted,
            sum(outcome = 'rejected') AS rejected
       FROM machine_sightings WHERE fqdn = ? AND at >= ? GROUP BY day ORDER BY day`,
  );

  return {
    /** Records a sighting; authentic ones (fqdn set) also update the address summary. Call inside a transaction. */
    record(sighting: NewSighting): number {
      const id = Number(insert.run(sighting).lastInsertRowid);
      const name = sighting.fqdn ?? sighting.claimedFqdn;
      if (name !== null) upsertSlot.run({ name, verified: sighting.fqdn !== null ? 1 : 0, at: sighting.at, clientIp: sighting.clientIp, network: sighting.network, outcome: sighting.outcome });
      if (sighting.fqdn !== null) {
        upsertSummary.run({ fqdn: sighting.fqdn, clientIp: sighting.clientIp, network: sighting.network, at: sighting.at, rejected: sighting.outcome === 'rejected' ? 1 : 0 });
      }
      return id;
    },
    lastAccepted(fqdn: string): Sighting | undefined {
      const row = selectLastAccepted.get(fqdn);
      return row ? toSighting(row) : undefined;
    },
    /** Networks an accepted cookie id was seen from since `since`, newest first. */
    recentNetworksForJti(jtiHash: string, since: number, limit = 500): Array<{ network: string; at: number }> {
      return selectRecentForJti.all(jtiHash, since, limit);
    },
    /** Every address the machine has presented its cookie from: one primary-key range read. */
    addresses(fqdn: string): AddressSummary[] {
      return selectAddresses.all(fqdn).map((row) => ({
        clientIp: row.client_ip,
        network: row.network,
        firstSeen: row.first_seen,
        lastSeen: row.last_seen,
        count: row.count,
        rejectedCount: row.rejected_count,
      }));
    },
    /** Recent sightings of a machine, including cookies that only claimed its name. */
    recent(fqdn: string, limit = 100): Sighting[] {
      return selectRecent.all({ fqdn, limit }).map(toSighting);
    },
    dailyCounts(fqdn: string, sinceSeconds: number): DailyCount[] {
      return selectDaily.all(fqdn, sinceSeconds);
    },
  };
}
