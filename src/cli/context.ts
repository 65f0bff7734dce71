import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../config/load.ts';
import type { WebisoConfig } from '../config/schema.ts';
import { createKeysRepository } from '../keys/keys-repository.ts';
import { createKeystore, type Keystore } from '../keys/keystore.ts';
import { createMachineServices, type MachineServices } from '../machines/service.ts';
import { createServices, type WebisoServices } from '../services.ts';
import { openStore, type Queryable, type Store } from '../store/store.ts';
import type { PasswordVerifier } from '../verifiers/verifier.ts';

/** Public keys stay published this long after their grants could have expired (clock skew). */
const RETIRED_KEY_MARGIN_SECONDS = 300;

/** Runs a command against the configured store (SQLite or PostgreSQL, migrated), closing it however the command ends. */
export async function withStore<T>(fn: (store: Store, config: WebisoConfig) => T | Promise<T>): Promise<T> {
  const { config } = loadConfig();
  const store = await openStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

export function keystoreFor(db: Queryable, config: WebisoConfig): Keystore {
  return createKeystore({ repository: createKeysRepository(db), now: Date.now, retiredKeyGraceSeconds: config.grant.lifetimeSeconds + RETIRED_KEY_MARGIN_SECONDS });
}

/** The machine services the admin pages use, on the same store. */
export function withMachines<T>(fn: (machines: MachineServices, config: WebisoConfig) => T | Promise<T>): Promise<T> {
  return withStore(async (store, config) => {
    const keystore = keystoreFor(store.db, config);
    try {
      return await fn(createMachineServices({ store, config, keystore, now: Date.now }), config);
    } finally {
      keystore.close();
    }
  });
}

/** The CLI has no log stream of its own: audit rows are written, log lines dropped (the command prints what it did). */
const QUIET_LOGGER = pino({ level: 'silent' });

/** The CLI never checks a password: a verifier that says so, instead of opening LDAP or Kerberos connections. */
const NO_VERIFIER: PasswordVerifier = { kind: 'cli', verify: async () => ({ ok: false, reason: 'unavailable', detail: 'the CLI checks no passwords' }) };

/**
 * The server's services on the same store, for commands that end sessions: the single-logout
 * deliveries are attempted before the command returns; what fails stays in the outbox, and the
 * running server retries it.
 */
export function withServices<T>(fn: (services: WebisoServices, log: FastifyBaseLogger) => T | Promise<T>): Promise<T> {
  return withStore(async (store, config) => {
    const services = await createServices(config, { store, verifier: NO_VERIFIER });
    services.logoutDeliverer.setLogger(QUIET_LOGGER);
    try {
      const result = await fn(services, QUIET_LOGGER);
      await services.logoutDeliverer.runOnce();
      await services.logoutDeliverer.drain();
      return result;
    } finally {
      services.keystore.close();
      await services.audit.flush();
    }
  });
}
