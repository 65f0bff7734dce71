import type { WebisoConfig } from '../config/schema.ts';
import type { Keystore } from '../keys/keystore.ts';
import type { Store } from '../store/store.ts';
import { createAlertsRepository, type AlertsRepository } from './alerts-repository.ts';
import { createEnrollmentsRepository } from './enrollments-repository.ts';
import { MACHINE_ALG } from './machine-cookie.ts';
import { createMachinesRepository, type MachinesRepository } from './machines-repository.ts';
import { createMachineOperations, type MachineOperations } from './operations.ts';
import { createPresenter, type Presenter } from './presentation.ts';
import { createSightingsRepository, type SightingsRepository } from './sightings-repository.ts';

/** Everything about kiosk machines a request handler or the CLI needs, built once per process. */
export interface MachineServices {
  readonly repository: MachinesRepository;
  readonly sightings: SightingsRepository;
  readonly alerts: AlertsRepository;
  readonly operations: MachineOperations;
  /** judges a presented cookie and records the sighting (see presentation.ts) */
  readonly present: Presenter;
}

export interface MachineServicesDeps {
  readonly store: Store;
  readonly config: WebisoConfig;
  readonly keystore: Keystore;
  readonly now: () => number;
}

/** The machine key is separate from the grant key and never published. Created on first start. */
export async function ensureMachineKey(keystore: Keystore): Promise<void> {
  await keystore.ensureKey('machine', MACHINE_ALG);
}

/** The repositories here run on the store's connection; operations and the presenter open their own transactions. */
export function createMachineServices({ store, config, keystore, now }: MachineServicesDeps): MachineServices {
  const nowSeconds = () => Math.floor(now() / 1000);
  const repository = createMachinesRepository(store.db, store.kind);
  const sightings = createSightingsRepository(store.db);
  const alerts = createAlertsRepository(store.db);
  const operations = createMachineOperations({
    store,
    config: config.machines,
    issuer: config.issuer,
    keystore,
    machines: repository,
    enrollments: createEnrollmentsRepository(store.db),
    nowSeconds,
  });
  const present = createPresenter({ store, config: config.machines, invalidBefore: operations.invalidBefore, nowSeconds });
  return { repository, sightings, alerts, operations, present };
}
