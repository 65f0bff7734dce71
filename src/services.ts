import type { WebisoConfig } from './config/schema.ts';
import { createAuditLog, type AuditLog } from './audit/auth-events.ts';
import { openAndMigrate, type Db } from './db/database.ts';
import { getOrCreateSecret } from './db/secrets.ts';
import { createSessionsRepository, type SessionsRepository } from './db/sessions.ts';
import { createThrottleRepository, type ThrottleRepository } from './db/throttle.ts';
import { createUsersRepository, type UsersRepository } from './db/users.ts';
import { createKeysRepository } from './keys/keys-repository.ts';
import { createKeystore, type Keystore } from './keys/keystore.ts';
import { createLocalVerifier } from './verifiers/local.ts';
import type { PasswordVerifier } from './verifiers/verifier.ts';

/** Everything a request handler needs, built once per app; tests swap the clock or the verifier. */
export interface WebisoServices {
  readonly config: WebisoConfig;
  readonly db: Db;
  readonly users: UsersRepository;
  readonly sessions: SessionsRepository;
  readonly throttle: ThrottleRepository;
  readonly audit: AuditLog;
  readonly keystore: Keystore;
  readonly verifier: PasswordVerifier;
  /** HMAC key for CSRF tokens and signed login contexts */
  readonly formSecret: Buffer;
  /** milliseconds since the epoch; a fake clock in unit tests */
  readonly now: () => number;
}

export interface ServiceOverrides {
  readonly db?: Db;
  readonly now?: () => number;
  readonly verifier?: PasswordVerifier;
}

/** Margin on top of a grant's lifetime before a retired key leaves the JWKS (client clock skew, caches). */
const RETIRED_KEY_MARGIN_SECONDS = 300;

export function createVerifier(config: WebisoConfig, users: UsersRepository, now: () => number): PasswordVerifier {
  switch (config.verifier.kind) {
    case 'local':
      return createLocalVerifier({ users, now });
  }
}

export async function createServices(config: WebisoConfig, overrides: ServiceOverrides = {}): Promise<WebisoServices> {
  const now = overrides.now ?? Date.now;
  const db = overrides.db ?? openAndMigrate(config.dataDir);
  const users = createUsersRepository(db);
  const keystore = createKeystore({
    repository: createKeysRepository(db),
    now,
    retiredKeyGraceSeconds: config.grant.lifetimeSeconds + RETIRED_KEY_MARGIN_SECONDS,
  });
  await keystore.ensureKey('grant', config.grant.algorithm);
  return {
    config,
    db,
    users,
    sessions: createSessionsRepository(db),
    throttle: createThrottleRepository(db),
    audit: createAuditLog(db, now),
    keystore,
    verifier: overrides.verifier ?? createVerifier(config, users, now),
    formSecret: getOrCreateSecret(db, 'form-hmac'),
    now,
  };
}
