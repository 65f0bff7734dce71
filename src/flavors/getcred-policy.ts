/**
 * Which Kerberos service principals an app may receive tickets for. Deny by default; the most
 * specific matching rule wins: an exact name beats any pattern, a pattern with more literal
 * characters beats one with fewer, and on a tie a deny beats an allow.
 */
export interface TargetRule {
  /** an exact principal (`imap/mail.example.edu@EXAMPLE.EDU`) or a glob: `*` is any run of characters except `/` and `@` */
  readonly pattern: string;
  readonly allow: boolean;
}

export type TargetDecision = { readonly allowed: true; readonly rule: TargetRule } | { readonly allowed: false; readonly rule: TargetRule | undefined };

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '[^/@]*');
  return new RegExp(`^${body}$`);
}

function specificity(rule: TargetRule): number {
  if (!rule.pattern.includes('*')) return Number.MAX_SAFE_INTEGER;
  return rule.pattern.replace(/\*/g, '').length;
}

export function decideTarget(rules: readonly TargetRule[], target: string): TargetDecision {
  const matching = rules.filter((rule) => (rule.pattern.includes('*') ? globToRegExp(rule.pattern).test(target) : rule.pattern === target));
  const best = matching.sort((a, b) => specificity(b) - specificity(a) || Number(a.allow) - Number(b.allow))[0];
  return best?.allow ? { allowed: true, rule: best } : { allowed: false, rule: best };
}

/** A Kerberos service principal: service/host[@REALM], no whitespace or control characters. */
export const SERVICE_PRINCIPAL = /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+(@[A-Z0-9.-]+)?$/;
