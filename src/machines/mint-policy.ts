import type { MintRule } from './config-schema.ts';
import { fqdnMatchesPattern } from './fqdn.ts';

/** Who is asking to mint: groups are undefined when the session does not know them (docs/machines.md). */
export interface Minter {
  readonly username: string;
  readonly roles: readonly string[];
  readonly groups: readonly string[] | undefined;
}

export type PolicyDecision =
  | { readonly allowed: true; readonly rule: number }
  /** needsGroups: a group rule covers the name, but this session's groups are unknown: re-authenticate */
  | { readonly allowed: false; readonly needsGroups: boolean };

const intersects = (wanted: readonly string[] | undefined, held: readonly string[]) => (wanted ?? []).some((name) => held.includes(name));

function ruleCoversMinter(rule: MintRule, minter: Minter): boolean {
  const groups = (minter.groups ?? []).map((group) => group.toLowerCase());
  return (rule.users ?? []).includes(minter.username.toLowerCase()) || intersects(rule.roles, minter.roles) || intersects(rule.groups, groups);
}

const ruleCoversFqdn = (rule: MintRule, fqdn: string) => rule.fqdns.some((pattern) => fqdnMatchesPattern(fqdn, pattern));

/** An empty policy lets nobody mint. The first rule naming both the minter and the FQDN allows it. */
export function evaluateMintPolicy(policy: readonly MintRule[], minter: Minter, fqdn: string): PolicyDecision {
  const index = policy.findIndex((rule) => ruleCoversFqdn(rule, fqdn) && ruleCoversMinter(rule, minter));
  if (index >= 0) return { allowed: true, rule: index };
  const needsGroups = minter.groups === undefined && policy.some((rule) => (rule.groups?.length ?? 0) > 0 && ruleCoversFqdn(rule, fqdn));
  return { allowed: false, needsGroups };
}
