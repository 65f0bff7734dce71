-- Retention (docs/operations.md#retention): old sightings are found by time, in small batches.
CREATE INDEX machine_sightings_by_at ON machine_sightings (at);
-- Forged or stale cookies carry only the name they claimed (fqdn NULL): found by that name.
CREATE INDEX machine_sightings_unverified_claims ON machine_sightings (claimed_fqdn, at) WHERE fqdn IS NULL;

-- Sightings counted per machine, hour, address and outcome, kept by the transaction that records
-- each sighting: the machine page's timeline over days reads these rows instead of a busy kiosk's
-- tens of thousands of sightings (test/durability/growth.test.ts). `name` is the machine's FQDN, or
-- for an unverified cookie the name it claimed (`verified` 0). Never pruned by retention (like
-- machine_ip_summary).
CREATE TABLE machine_sighting_hours (
  name       TEXT NOT NULL,
  hour_start INTEGER NOT NULL,             -- unix seconds, a multiple of 3600
  verified   INTEGER NOT NULL CHECK (verified IN (0, 1)),
  client_ip  TEXT NOT NULL,
  outcome    TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
  network    TEXT NOT NULL,
  count      INTEGER NOT NULL,
  first_at   INTEGER NOT NULL,
  last_at    INTEGER NOT NULL,
  PRIMARY KEY (name, hour_start, verified, client_ip, outcome)
) STRICT, WITHOUT ROWID;

INSERT INTO machine_sighting_hours (name, hour_start, verified, client_ip, outcome, network, count, first_at, last_at)
SELECT coalesce(fqdn, claimed_fqdn), at - at % 3600, fqdn IS NOT NULL, client_ip, outcome, max(network), count(*), min(at), max(at)
  FROM machine_sightings WHERE coalesce(fqdn, claimed_fqdn) IS NOT NULL
 GROUP BY coalesce(fqdn, claimed_fqdn), at - at % 3600, fqdn IS NOT NULL, client_ip, outcome;
