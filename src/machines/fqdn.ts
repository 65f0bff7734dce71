/**
 * Machine names. A machine is identified by its DNS name, lower-cased; anything that is not a
 * plain DNS name is refused, never truncated or "cleaned up" (a name that means something else to
 * a log reader, a DNS resolver or the database than it appears to is how injection starts).
 */
export const MAX_FQDN_LENGTH = 253;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NUMERIC = /^[0-9]+$/;

export type FqdnCheck = { readonly ok: true; readonly fqdn: string } | { readonly ok: false; readonly problem: string };

/** Validates and lower-cases a DNS name: 1-253 characters, labels of 1-63 letters, digits and inner hyphens. */
export function checkFqdn(input: unknown): FqdnCheck {
  if (typeof input !== 'string' || input.length === 0) return { ok: false, problem: 'a machine name is required' };
  if (input.length > MAX_FQDN_LENGTH) return { ok: false, problem: `a machine name is at most ${MAX_FQDN_LENGTH} characters` };
  const fqdn = input.toLowerCase();
  const labels = fqdn.split('.');
  if (!labels.every((label) => LABEL.test(label))) {
    return { ok: false, problem: 'each dot-separated part of a machine name must be 1-63 letters, digits or inner hyphens (no trailing dot)' };
  }
  if (labels.every((label) => NUMERIC.test(label))) return { ok: false, problem: 'a machine name must be a DNS name, not an IP address' };
  return { ok: true, fqdn };
}

/** Mint-policy patterns: an exact name, or `*.domain` for any name strictly below domain. */
export function isFqdnPattern(pattern: string): boolean {
  const exact = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  const check = checkFqdn(exact);
  return check.ok && check.fqdn === exact;
}

export function fqdnMatchesPattern(fqdn: string, pattern: string): boolean {
  if (!pattern.startsWith('*.')) return fqdn === pattern;
  const suffix = pattern.slice(1);
  return fqdn.length > suffix.length && fqdn.endsWith(suffix);
}
