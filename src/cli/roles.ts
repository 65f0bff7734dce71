import { ADMIN_ROLE } from '../admin/admin-session.ts';
import type { WebisoConfig } from '../config/schema.ts';
import { CliError } from './errors.ts';

const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * The roles webiso acts on: `admin` (the admin pages) and every role the configuration names,
 * in a mint-policy rule or as the target of an LDAP group mapping. A role outside this set would
 * do nothing, so granting it is refused as the typo it almost certainly is (`--role admn`).
 */
export function knownRoles(config: WebisoConfig): string[] {
  const roles = new Set<string>([ADMIN_ROLE]);
  for (const rule of config.machines.mintPolicy) for (const role of rule.roles ?? []) roles.add(role);
  if (config.verifier.kind === 'ldap') for (const mapped of Object.values(config.verifier.groupRoles)) for (const role of mapped) roles.add(role);
  return [...roles].sort();
}

function checkRoleSyntax(role: string): string {
  if (!ROLE.test(role)) throw new CliError(`invalid role "${role}": use a-z, 0-9, "_", "-", starting with a letter`);
  return role;
}

/** Roles to grant: well-formed and known. */
export function checkGrantedRoles(roles: readonly string[], config: WebisoConfig): string[] {
  const known = knownRoles(config);
  for (const role of roles) {
    checkRoleSyntax(role);
    if (!known.includes(role)) throw new CliError(`unknown role "${role}": known roles are ${known.join(', ')} (admin and the roles the configuration names)`);
  }
  return [...roles];
}

/** Roles to remove: only well-formed; a role the configuration no longer names can still be taken away. */
export function checkRemovedRoles(roles: readonly string[]): string[] {
  return roles.map(checkRoleSyntax);
}
