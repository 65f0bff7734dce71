import type { FlavorName } from '../config/schema.ts';
import { basicFlavor } from './basic.ts';
import type { Flavor } from './flavor.ts';

/** Every flavor this server implements; config validation refuses an app that asks for another. */
export const FLAVORS: ReadonlyMap<FlavorName, Flavor> = new Map<FlavorName, Flavor>([[basicFlavor.name, basicFlavor]]);
