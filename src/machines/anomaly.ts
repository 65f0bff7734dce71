import type { RaisedAlert } from './alerts-repository.ts';
import { registeredNetworkOf } from './networks.ts';

/** An earlier accepted sighting, as the rules need it. */
export interface EarlierSighting {
  readonly at: number;
  readonly clientIp: string;
  readonly network: string;
}

export interface AnomalyInput {
  readonly fqdn: string;
  readonly at: number;
  readonly clientIp: string;
  /** networkKey() of clientIp */
  readonly network: string;
  /** the machine's registered networks (CIDRs); empty switches the outside-networks rule off */
  readonly registeredNetworks: readonly string[];
  /** the machine's last accepted sighting, any cookie */
  readonly previous: EarlierSighting | undefined;
  /** accepted sightings of this very cookie (jti) within the clone window, newest first */
  readonly sameCookie: ReadonlyArray<{ readonly network: string; readonly at: number }>;
  readonly teleportWindowSeconds: number;
}

function outsideNetworks(input: AnomalyInput): RaisedAlert | undefined {
  if (input.registeredNetworks.length === 0 || registeredNetworkOf(input.clientIp, input.registeredNetworks)) return undefined;
  return {
    fqdn: input.fqdn,
    rule: 'outside_networks',
    clientIp: input.clientIp,
    previousIp: null,
    detail: `${input.clientIp} is outside the registered networks ${input.registeredNetworks.join(', ')}`,
  };
}

function teleport(input: AnomalyInput): RaisedAlert | undefined {
  const { previous } = input;
  if (!previous || previous.network === input.network || input.at - previous.at > input.teleportWindowSeconds) return undefined;
  return {
    fqdn: input.fqdn,
    rule: 'teleport',
    clientIp: input.clientIp,
    previousIp: previous.clientIp,
    detail: `moved from ${previous.network} (${previous.clientIp}) to ${input.network} (${input.clientIp}) within ${input.at - previous.at} s`,
  };
}

/**
 * A clone: the same cookie going back to a network after being used from another one, i.e. two
 * copies taking turns. A single move (A then B) is a teleport, not a clone; A, B, A is both.
 */
function clone(input: AnomalyInput): RaisedAlert | undefined {
  let other: string | undefined;
  for (const earlier of input.sameCookie) {
    if (earlier.network !== input.network) {
      other ??= earlier.network;
      continue;
    }
    if (other === undefined) return undefined;
    return {
      fqdn: input.fqdn,
      rule: 'clone',
      clientIp: input.clientIp,
      previousIp: null,
      detail: `the same cookie is in use from ${input.network} and ${other} at once`,
    };
  }
  return undefined;
}

/** The three anomaly rules, evaluated on one accepted sighting. */
export function detectAnomalies(input: AnomalyInput): RaisedAlert[] {
  return [outsideNetworks(input), teleport(input), clone(input)].filter((alert): alert is RaisedAlert => alert !== undefined);
}
