import type { FlavorName } from '../config/schema.ts';
import { basicFlavor } from './basic.ts';
import { getcredFlavor } from './getcred.ts';
import { machineOrUserFlavor } from './machineoruser.ts';
import type { Flavor } from './flavor.ts';

/** Every flavor this server implements; config validation refuses an app that asks for another. */
export const FLAVORS: ReadonlyMap<FlavorName, Flavor> = new Map<FlavorName, Flavor>([
  [basicFlavor.name, basicFlavor],
  [getcredFlavor.name, getcredFlavor],
  [machineOrUserFlavor.name, machineOrUserFlavor],
]);
