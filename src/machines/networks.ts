import { createRequire } from 'node:module';

// ipaddr.js is CommonJS with `export =`; a default import does not type-check without esModuleInterop.
const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof import('ipaddr.js');

type Address = ReturnType<typeof ipaddr.parse>;

export interface NetworkPrefixes {
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
}

export const MAX_NETWORKS = 64;

/** Normalises a CIDR (IPv4 or IPv6) to its network address, e.g. "10.1.2.3/16" → "10.1.0.0/16"; undefined if invalid. */
export function normalizeCidr(text: string): string | undefined {
  const trimmed = text.trim();
  if (!ipaddr.isValidCIDR(trimmed)) return undefined;
  const [address, prefix] = ipaddr.parseCIDR(trimmed);
  const network = address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(trimmed) : ipaddr.IPv6.networkAddressFromCIDR(trimmed);
  return `${network.toString()}/${prefix}`;
}

/** Parses a client address; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes plain IPv4. */
export function parseClientIp(ip: string): Address | undefined {
  try {
    return ipaddr.process(ip);
  } catch {
    return undefined;
  }
}

function contains(cidr: string, address: Address): boolean {
  const range = ipaddr.parseCIDR(cidr);
  return range[0].kind() === address.kind() && address.match(range);
}

/** The first registered network containing ip, or undefined. */
export function registeredNetworkOf(ip: string, networks: readonly string[]): string | undefined {
  const address = parseClientIp(ip);
  if (!address) return undefined;
  return networks.find((cidr) => contains(cidr, address));
}

/**
 * The "network" an address belongs to for the teleport and clone rules: the registered network
 * containing it (so DHCP churn anywhere inside a registered range is one network), else its
 * IPv4 /24 or IPv6 /64 (configurable).
 */
export function networkKey(ip: string, networks: readonly string[], prefixes: NetworkPrefixes): string {
  // a pure function of its inputs, asked on every presentation with the same few: parsing them
  // (ipaddr.js) was 4% of the machine path
  const key = `${ip}|${prefixes.ipv4Prefix}|${prefixes.ipv6Prefix}|${networks.join(',')}`;
  let network = networkKeys.get(key);
  if (network === undefined) {
    if (networkKeys.size >= NETWORK_KEY_MEMO) networkKeys.clear();
    networkKeys.set(key, (network = computeNetworkKey(ip, networks, prefixes)));
  }
  return network;
}

const NETWORK_KEY_MEMO = 10_000;
const networkKeys = new Map<string, string>();

function computeNetworkKey(ip: string, networks: readonly string[], prefixes: NetworkPrefixes): string {
  const registered = registeredNetworkOf(ip, networks);
  if (registered) return registered;
  const address = parseClientIp(ip);
  if (!address) return `unparsed:${ip}`;
  const prefix = address.kind() === 'ipv4' ? prefixes.ipv4Prefix : prefixes.ipv6Prefix;
  return normalizeCidr(`${address.toString()}/${prefix}`) ?? `unparsed:${ip}`;
}
