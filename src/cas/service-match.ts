import type { AppConfig, WebisoConfig } from '../config/schema.ts';
import { parseReturnUrl, returnUrlMatches } from '../login/return-url.ts';

/** A CAS `service` that belongs to a registered app. */
export interface MatchedService {
  readonly app: AppConfig & { readonly cas: NonNullable<AppConfig['cas']> };
  /** the service exactly as the client sent it (percent-decoded once): the ticket is bound to this string */
  readonly service: string;
  readonly url: URL;
}

// CAS clients percent-encode their service URLs; anything outside printable ASCII is refused, not
// repaired, so the Location header carries exactly the string that was checked.
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * Finds the app a service belongs to: WHATWG-parsed, the return-URL refusals applied (userinfo,
 * fragments, encoded dots and slashes, …), scheme/host/port equal and the path equal to or under a
 * registered path on a `/` boundary, whatever the query. The most specific registered path wins.
 */
export function matchService(config: WebisoConfig, service: string): MatchedService | undefined {
  if (!PRINTABLE_ASCII.test(service)) return undefined;
  const url = parseReturnUrl(service);
  if (!url) return undefined;
  let best: { app: MatchedService['app']; length: number } | undefined;
  for (const app of config.apps) {
    if (!app.cas) continue;
    for (const registered of app.cas.services) {
      const length = new URL(registered).pathname.length;
      if (returnUrlMatches(url, registered) && (!best || length > best.length)) best = { app: { ...app, cas: app.cas }, length };
    }
  }
  return best && { app: best.app, service, url };
}
