import { loadConfig } from '../config/load.ts';
import type { WebisoConfig } from '../config/schema.ts';
import { openAndMigrate, type Db } from '../db/database.ts';
import { createKeysRepository } from '../keys/keys-repository.ts';
import { createKeystore, type Keystore } from '../keys/keystore.ts';
import { createMachineServices, type MachineServices } from '../machines/service.ts';

/** Public keys stay published this long after their grants could have expired (clock skew). */
const RETIRED_KEY_MARGIN_SECONDS = 300;

/** Runs a command against the configured database, closing it however the command ends. */
export async function withDb<T>(fn: (db: Db, config: WebisoConfig) => T | Promise<T>): Promise<T> {
  const { config } = loadConfig();
  const db = openAndMigrate(config.dataDir);
  try {
    return await fn(db, config);
  } finally {
    db.close();
  }
}

export function keystoreFor(db: Db, config: WebisoConfig): Keystore {
  return createKeystore({ repository: createKeysRepository(db), now: Date.now, retiredKeyGraceSeconds: config.grant.lifetimeSeconds + RETIRED_KEY_MARGIN_SECONDS });
}

/** The machine services the admin pages use, on the same database. */
export function withMachines<T>(fn: (machines: MachineServices, config: WebisoConfig) => T | Promise<T>): Promise<T> {
  return withDb((db, config) => fn(createMachineServices({ db, config, keystore: keystoreFor(db, config), now: Date.now }), config));
}
