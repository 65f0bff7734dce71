import { InvalidRequestError } from '../errors.ts';
import type { RawParams } from '../login/granting-request.ts';
import type { MachineListEntry, MachineStatus } from '../machines/machines-repository.ts';

export const SORT_KEYS = ['fqdn', 'version', 'status', 'setBy', 'setAt', 'expiresAt', 'lastSeen', 'lastIp', 'openAlerts'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface ListQuery {
  readonly sort: SortKey;
  readonly dir: 'asc' | 'desc';
  /** case-insensitive substring of the FQDN, location, set-by or last IP */
  readonly q: string;
  readonly status: MachineStatus | 'all';
}

const MAX_FILTER_LENGTH = 100;

function single(params: RawParams, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError(`The parameter "${name}" must appear once.`);
  return value;
}

function oneOf<T extends string>(params: RawParams, name: string, allowed: readonly T[], fallback: T): T {
  const value = single(params, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidRequestError(`The parameter "${name}" must be one of: ${allowed.join(', ')}.`);
  return value as T;
}

export function parseListQuery(params: RawParams): ListQuery {
  const q = single(params, 'q') ?? '';
  if (q.length > MAX_FILTER_LENGTH) throw new InvalidRequestError(`The filter is at most ${MAX_FILTER_LENGTH} characters.`);
  return {
    sort: oneOf(params, 'sort', SORT_KEYS, 'fqdn'),
    dir: oneOf(params, 'dir', ['asc', 'desc'] as const, 'asc'),
    q,
    status: oneOf(params, 'status', ['all', 'active', 'suspended'] as const, 'all'),
  };
}

function matches(entry: MachineListEntry, query: ListQuery): boolean {
  if (query.status !== 'all' && entry.status !== query.status) return false;
  if (query.q === '') return true;
  const needle = query.q.toLowerCase();
  return [entry.fqdn, entry.location ?? '', entry.setBy, entry.lastIp ?? ''].some((field) => field.toLowerCase().includes(needle));
}

/** nulls (never seen, no cookie) sort last whatever the direction */
function compare(a: MachineListEntry, b: MachineListEntry, key: SortKey): number {
  const x = a[key];
  const y = b[key];
  if (x === y) return 0;
  if (x === null) return 1;
  if (y === null) return -1;
  return typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
}

export function selectMachines(entries: readonly MachineListEntry[], query: ListQuery): MachineListEntry[] {
  const sign = query.dir === 'asc' ? 1 : -1;
  return entries
    .filter((entry) => matches(entry, query))
    .sort((a, b) => {
      const primary = compare(a, b, query.sort);
      if (primary === 0) return a.fqdn.localeCompare(b.fqdn);
      const bothPresent = a[query.sort] !== null && b[query.sort] !== null;
      return bothPresent ? sign * primary : primary;
    });
}

/** The query string of a column header link: same filter, this column, flipped direction if already sorted by it. */
export function sortLink(query: ListQuery, key: SortKey): string {
  const dir = query.sort === key && query.dir === 'asc' ? 'desc' : 'asc';
  const params = new URLSearchParams({ sort: key, dir });
  if (query.q !== '') params.set('q', query.q);
  if (query.status !== 'all') params.set('status', query.status);
  return `/admin/machines?${params.toString()}`;
}
