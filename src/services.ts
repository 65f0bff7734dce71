import { readSecretFile } from './config/load.ts';
import type { WebisoConfig } from './config/schema.ts';
import { createAuditLog, type AuditLog } from './audit/auth-events.ts';
import { createTicketRepository, type TicketRepository } from './cas/ticket-repository.ts';
import { createLogoutDeliverer, type LogoutDeliverer } from './logout/deliverer.ts';
import { createDeliveriesRepository, type DeliveriesRepository } from './logout/deliveries-repository.ts';
import { createParticipantsRepository, type ParticipantsRepository } from './logout/participants-repository.ts';
import { getOrCreateSecret } from './db/secrets.ts';
import { createSessionsRepository, type SessionsRepository } from './db/sessions.ts';
import { createThrottleRepository, type ThrottleRepository } from './db/throttle.ts';
import { createUsersRepository, type UsersRepository } from './db/users.ts';
import { createKeysRepository } from './keys/keys-repository.ts';
import { createKeystore, type Keystore } from './keys/keystore.ts';
import { createMachineServices, ensureMachineKey, type MachineServices } from './machines/service.ts';
import { createKerberosVerifier } from './verifiers/kerberos.ts';
import { createLdapVerifier } from './verifiers/ldap.ts';
import { createLocalVerifier } from './verifiers/local.ts';
import { defaultHashConcurrency } from './verifiers/hash-concurrency.ts';
import type { PasswordVerifier } from './verifiers/verifier.ts';
import { countAuthEvent, countingPresenter, timedVerifier } from './ops/metric-feeds.ts';
import { createMetrics, type WebisoMetrics } from './ops/metrics.ts';
import { openStore, type Store } from './store/store.ts';

/** Everything a request handler needs, built once per app; tests swap the clock or the verifier. */
export interface WebisoServices {
  readonly config: WebisoConfig;
  /** SQLite or PostgreSQL behind one Kysely interface (src/store) */
  readonly store: Store;
  readonly users: UsersRepository;
  readonly sessions: SessionsRepository;
  readonly throttle: ThrottleRepository;
  readonly audit: AuditLog;
  readonly keystore: Keystore;
  readonly verifier: PasswordVerifier;
  /** kiosk machines: version table, sightings, alerts, minting (src/machines) */
  readonly machines: MachineServices;
  /** CAS service tickets (src/cas) */
  readonly casTickets: TicketRepository;
  /** single logout: the session index, the outbox and its sender (src/logout) */
  readonly participants: ParticipantsRepository;
  readonly logoutDeliveries: DeliveriesRepository;
  readonly logoutDeliverer: LogoutDeliverer;
  /** Prometheus metrics, fed by the audit log, the machine presenter and the verifier (src/ops) */
  readonly metrics: WebisoMetrics;
  /** HMAC key for CSRF tokens and signed login contexts */
  readonly formSecret: Buffer;
  /** milliseconds since the epoch; a fake clock in unit tests */
  readonly now: () => number;
}

export interface ServiceOverrides {
  /** an open store to use instead of the configured one (the caller closes it) */
  readonly store?: Store;
  readonly now?: () => number;
  readonly verifier?: PasswordVerifier;
}

/** The services' clock in unix seconds, as SQLite columns and JWT claims store time. */
export function nowSeconds(services: Pick<WebisoServices, 'now'>): number {
  return Math.floor(services.now() / 1000);
}

/** Margin on top of a grant's lifetime before a retired key leaves the JWKS (client clock skew, caches). */
const RETIRED_KEY_MARGIN_SECONDS = 300;

/** Roles of directory and realm users come from user_roles (and, for LDAP, mapped groups). */
export function createVerifier(config: WebisoConfig, users: UsersRepository, now: () => number): PasswordVerifier {
  const verifier = config.verifier;
  switch (verifier.kind) {
    case 'local':
      return createLocalVerifier({ users, now, maxConcurrentHashes: verifier.maxConcurrentHashes ?? defaultHashConcurrency() });
    case 'ldap':
      return withStoredRoles(
        createLdapVerifier({
          url: verifier.url,
          baseDn: verifier.baseDn,
          userFilter: verifier.userFilter,
          usernameAttribute: verifier.usernameAttribute,
          bindDn: verifier.bindDn,
          bindPassword: verifier.bindPasswordFile ? readSecretFile(verifier.bindPasswordFile, 'verifier.bindPasswordFile') : undefined,
          timeoutMs: verifier.timeoutSeconds * 1000,
          groupBaseDn: verifier.groupBaseDn,
          groupFilter: verifier.groupFilter,
          groupRoleMap: verifier.groupRoles,
        }),
        users,
      );
    case 'kerberos':
      return createKerberosVerifier({ ...kerberosOptions(verifier), roles: (username) => users.rolesOf(username) });
  }
}

export function kerberosOptions(verifier: Extract<WebisoConfig['verifier'], { kind: 'kerberos' }>) {
  return {
    realms: verifier.realms,
    servicePrincipal: verifier.servicePrincipal,
    keytab: verifier.keytab,
    krb5Config: verifier.krb5Config,
    appendRealm: verifier.appendRealm,
    timeoutMs: verifier.timeoutSeconds * 1000,
  };
}

/** Adds roles granted in webiso's own user_roles table to those a directory maps from groups. */
function withStoredRoles(verifier: PasswordVerifier, users: UsersRepository): PasswordVerifier {
  return {
    kind: verifier.kind,
    close: verifier.close?.bind(verifier),
    async verify(username, password) {
      const outcome = await verifier.verify(username, password);
      if (!outcome.ok) return outcome;
      const roles = [...new Set([...outcome.user.roles, ...(await users.rolesOf(outcome.user.username))])].sort();
      return { ok: true, user: { ...outcome.user, roles } };
    },
  };
}

export async function createServices(config: WebisoConfig, overrides: ServiceOverrides = {}): Promise<WebisoServices> {
  const store = overrides.store ?? (await openStore(config));
  try {
    return await servicesOn(store, config, overrides);
  } catch (error) {
    // a bad secret file or a database that stops answering during start-up: nothing stays open
    if (!overrides.store) await store.close();
    throw error;
  }
}

async function servicesOn(store: Store, config: WebisoConfig, overrides: ServiceOverrides): Promise<WebisoServices> {
  const now = overrides.now ?? Date.now;
  const db = store.db;
  const users = createUsersRepository(db);
  const keystore = createKeystore({
    repository: createKeysRepository(db),
    now,
    retiredKeyGraceSeconds: config.grant.lifetimeSeconds + RETIRED_KEY_MARGIN_SECONDS,
  });
  await keystore.ensureKey('grant', config.grant.algorithm);
  await ensureMachineKey(keystore);
  const metrics = createMetrics(config.apps.map((app) => app.id));
  const audit = createAuditLog(db, now, (event) => countAuthEvent(metrics, event));
  const machines = createMachineServices({ store, config, keystore, now });
  const logoutDeliveries = createDeliveriesRepository(db);
  return {
    config,
    store,
    users,
    sessions: createSessionsRepository(db),
    throttle: createThrottleRepository(db),
    audit,
    keystore,
    verifier: timedVerifier(metrics, overrides.verifier ?? createVerifier(config, users, now)),
    machines: { ...machines, present: countingPresenter(metrics, machines.present) },
    casTickets: createTicketRepository(db),
    participants: createParticipantsRepository(db),
    logoutDeliveries,
    logoutDeliverer: createLogoutDeliverer({ config, keystore, deliveries: logoutDeliveries, audit, now, storeKind: store.kind }),
    formSecret: await getOrCreateSecret(db, 'form-hmac'),
    metrics,
    now,
  };
}
