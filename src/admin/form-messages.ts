import type { Translator } from '../i18n/translate.ts';
import type { MessageKey } from '../i18n/messages/index.ts';

/**
 * Messages src/machines throws (and admin-session's mint policy refusal, and the alert details of
 * src/machines/anomaly.ts) are English sentences with values in them. The admin pages show them
 * in the page's language by matching the English form and filling the catalog's message with the
 * same values (catalog en-admin-console.ts, `adm.err.*`); English, and any message not listed
 * here, is shown exactly as thrown.
 */

type Rule = readonly [RegExp, MessageKey];

const FQDN_PROBLEMS: readonly Rule[] = [
  [/^a machine name is required$/, 'adm.err.fqdnRequired'],
  [/^a machine name is at most (?<max>\d+) characters$/, 'adm.err.fqdnLong'],
  [/^each dot-separated part of a machine name must be 1-63 letters, digits or inner hyphens \(no trailing dot\)$/, 'adm.err.fqdnLabels'],
  [/^a machine name must be a DNS name, not an IP address$/, 'adm.err.fqdnIp'],
];

const MINT_ACTIONS: readonly Rule[] = [
  [/^mint a cookie$/, 'adm.err.action.mint'],
  [/^issue an enrollment link$/, 'adm.err.action.enroll'],
  [/^change the machine details$/, 'adm.err.action.details'],
  [/^reactivate the machine$/, 'adm.err.action.reactivate'],
  [/^register a machine$/, 'adm.err.action.register'],
];

const MESSAGES: readonly Rule[] = [
  [/^Invalid machine name: (?<problem>.+)\.$/s, 'adm.err.fqdn'],
  [/^A list field must be text\.$/, 'adm.err.listText'],
  [/^"(?<item>.*)" is not a network in CIDR notation \(e\.g\. 10\.1\.2\.0\/24 or 2001:db8:1::\/48\)\.$/s, 'adm.err.cidr'],
  [/^At most (?<max>\d+) networks per machine\.$/, 'adm.err.maxNetworks'],
  [/^"(?<item>.*)" is not a valid entitlement: use 1-64 letters, digits, "\.", "_", ":", "-"\.$/s, 'adm.err.entitlement'],
  [/^At most (?<max>\d+) entitlements per machine\.$/, 'adm.err.maxEntitlements'],
  [/^The location must be text\.$/, 'adm.err.locationText'],
  [/^The location is at most (?<max>\d+) characters\.$/, 'adm.err.locationLong'],
  [/^The location may not contain control characters\.$/, 'adm.err.locationControl'],
  [/^The reason must be text\.$/, 'adm.err.reasonText'],
  [/^The reason is at most (?<max>\d+) characters\.$/, 'adm.err.reasonLong'],
  [/^The reason may not contain control characters\.$/, 'adm.err.reasonControl'],
  [/^The lifetime must be a whole number of days\.$/, 'adm.err.daysWhole'],
  [/^The lifetime must be between 1 and (?<max>\d+) days \(machines\.maxLifetimeDays\)\.$/, 'adm.err.daysRange'],
  [/^The version of (?<fqdn>\S+) cannot be raised any further\.$/, 'adm.err.versionMax'],
  [/^A machine named (?<fqdn>\S+) already exists\.$/, 'adm.err.exists'],
  [/^(?<fqdn>\S+) was changed by someone else at the same moment; nothing was changed, please try again\.$/, 'adm.err.conflict'],
  [/^(?<fqdn>\S+) has no pending enrollment link\.$/, 'adm.err.noPendingLink'],
  [/^The mint policy does not let (?<user>.+) (?<action>mint a cookie|issue an enrollment link|change the machine details|reactivate the machine|register a machine) for (?<fqdn>\S+)\. Ask whoever maintains webiso's configuration \(machines\.mintPolicy\)\.$/s, 'adm.err.mintPolicy'],
  [/^(?<ip>\S+) is outside the registered networks (?<networks>.*)$/s, 'adm.alertDetail.outside'],
  [/^moved from (?<fromNetwork>\S+) \((?<fromIp>[^)]+)\) to (?<toNetwork>\S+) \((?<toIp>[^)]+)\) within (?<seconds>-?\d+) s$/, 'adm.alertDetail.teleport'],
  [/^the same cookie is in use from (?<network>\S+) and (?<other>.+) at once$/s, 'adm.alertDetail.clone'],
];

function match(text: string, rules: readonly Rule[], tr: Translator): string | undefined {
  for (const [pattern, key] of rules) {
    const found = pattern.exec(text);
    if (!found) continue;
    const params: Record<string, string> = { ...found.groups };
    if (params.problem !== undefined) params.problem = match(params.problem, FQDN_PROBLEMS, tr) ?? params.problem;
    if (params.action !== undefined) params.action = match(params.action, MINT_ACTIONS, tr) ?? params.action;
    return tr.t(key, params);
  }
  return undefined;
}

/** `text` (English, as thrown) in the translator's language; unchanged in English or when unknown. */
export function translateMessage(text: string, tr: Translator): string {
  if (tr.lang === 'en') return text;
  return match(text, MESSAGES, tr) ?? tr.tr(text);
}
