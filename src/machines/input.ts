import { InvalidMachineInputError } from './errors.ts';
import { checkFqdn } from './fqdn.ts';
import { MAX_NETWORKS, normalizeCidr } from './networks.ts';

/** Validation of what admins type (admin forms and CLI alike): refuse, never repair. */

const ENTITLEMENT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const MAX_ENTITLEMENTS = 32;
const MAX_LOCATION = 200;
const MAX_REASON = 300;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function parseFqdn(value: unknown): string {
  const check = checkFqdn(value);
  if (!check.ok) throw new InvalidMachineInputError(`Invalid machine name: ${check.problem}.`, 'fqdn');
  return check.fqdn;
}

/** A list typed as one string: separated by commas, spaces or new lines. */
export function splitList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(splitList);
  if (typeof value !== 'string') throw new InvalidMachineInputError('A list field must be text.');
  return value.split(/[\s,]+/).filter((item) => item !== '');
}

export function parseNetworks(items: readonly string[]): string[] {
  const networks = items.map((item) => {
    const cidr = normalizeCidr(item);
    if (!cidr) throw new InvalidMachineInputError(`"${item.slice(0, 60)}" is not a network in CIDR notation (e.g. 10.1.2.0/24 or 2001:db8:1::/48).`, 'networks');
    return cidr;
  });
  const unique = [...new Set(networks)];
  if (unique.length > MAX_NETWORKS) throw new InvalidMachineInputError(`At most ${MAX_NETWORKS} networks per machine.`, 'networks');
  return unique;
}

export function parseEntitlements(items: readonly string[]): string[] {
  for (const item of items) {
    if (!ENTITLEMENT.test(item)) throw new InvalidMachineInputError(`"${item.slice(0, 60)}" is not a valid entitlement: use 1-64 letters, digits, ".", "_", ":", "-".`, 'entitlements');
  }
  const unique = [...new Set(items)];
  if (unique.length > MAX_ENTITLEMENTS) throw new InvalidMachineInputError(`At most ${MAX_ENTITLEMENTS} entitlements per machine.`, 'entitlements');
  return unique;
}

function parseText(value: unknown, field: 'location' | 'reason', max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidMachineInputError(`The ${field} must be text.`, field);
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (trimmed.length > max) throw new InvalidMachineInputError(`The ${field} is at most ${max} characters.`, field);
  if (CONTROL.test(trimmed)) throw new InvalidMachineInputError(`The ${field} may not contain control characters.`, field);
  return trimmed;
}

export const parseLocation = (value: unknown) => parseText(value, 'location', MAX_LOCATION);
export const parseReason = (value: unknown) => parseText(value, 'reason', MAX_REASON);

/** A cookie lifetime in whole days, 1 … machines.maxLifetimeDays. */
export function parseLifetimeDays(value: unknown, maxDays: number): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[0-9]{1,4}$/.test(text.trim())) throw new InvalidMachineInputError('The lifetime must be a whole number of days.', 'days');
  const days = Number(text.trim());
  if (days < 1 || days > maxDays) throw new InvalidMachineInputError(`The lifetime must be between 1 and ${maxDays} days (machines.maxLifetimeDays).`, 'days');
  return days;
}
