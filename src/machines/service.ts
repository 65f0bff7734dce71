import type { WebisoConfig } from '../config/schema.ts';
import type { Db } from '../db/database.ts';
import type { Keystore } from '../keys/keystore.ts';
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
  readonly db: Db;
  readonly config: WebisoConfig;
  readonly keystore: Keystore;
  readonly now: () => number;
}

/** The machine key is separate from the grant key and never published. Created on first start. */
export async function ensureMachineKey(keystore: Keystore): Promise<void> {
  await keystore.ensureKey('machine', MACHINE_ALG);
}

export function createMachineServices({ db, config, keystore, now }: MachineServicesDeps): MachineServices {
  const nowSeconds = () => Math.floor(now() / 1000);
  const repository = createMachinesRepository(db);
  const sightings = createSightingsRepository(db);
  const alerts = createAlertsRepository(db);
  const operations = createMachineOperations({
    db,
    config: config.machines,
    issuer: config.issuer,
    keystore,
    machines: repository,
    alerts,
    enrollments: createEnrollmentsRepository(db),
    nowSeconds,
  });
  const present = createPresenter({ db, config: config.machines, machines: repository, sightings, alerts, invalidBefore: operations.invalidBefore, nowSeconds });
  return { repository, sightings, alerts, operations, present };
}
