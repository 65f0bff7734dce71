import type { Subject } from '../login/login-request.ts';

/**
 * What a successful validation releases: `cas:user` and the attributes, in order. Names are
 * camelCase because Apache drops header names with `_` and XML clients choke on `:`.
 */
export interface ReleasedIdentity {
  readonly user: string;
  readonly attributes: ReadonlyArray<readonly [name: string, values: readonly string[]]>;
}

/** Attributes that are lists by nature: always arrays in JSON, even with one value. */
export const MULTI_VALUED = new Set(['roles', 'entitlement']);

export interface ReleaseInput {
  readonly subject: Subject;
  readonly flavor: string;
  readonly fromNewLogin: boolean;
  /** cas.machineUserPattern, e.g. host/{fqdn} */
  readonly machineUserPattern: string;
}

export function machineUser(pattern: string, fqdn: string): string {
  return pattern.replace('{fqdn}', fqdn);
}

export function releasedIdentity({ subject, flavor, fromNewLogin, machineUserPattern }: ReleaseInput): ReleasedIdentity {
  const common: Array<[string, string[]]> = [
    ['webisoFlavor', [flavor]],
    ['authenticationDate', [new Date(subject.authTime * 1000).toISOString()]],
    ['isFromNewLogin', [String(fromNewLogin)]],
    ['longTermAuthenticationRequestTokenUsed', ['false']],
  ];
  if (subject.kind === 'user') {
    return { user: subject.username, attributes: [['principalType', ['user']], ...common, ['roles', [...subject.roles]]] };
  }
  const attributes: Array<[string, string[]]> = [['principalType', ['machine']], ['machineFqdn', [subject.fqdn]]];
  if (subject.location !== null) attributes.push(['machineLocation', [subject.location]]);
  attributes.push(...common, ['entitlement', [...subject.entitlements]]);
  return { user: machineUser(machineUserPattern, subject.fqdn), attributes };
}
