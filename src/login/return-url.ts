/**
 * Return-URL matching: the dominant bug class in SSO servers is a lenient redirect check
 * (prefix matches without a host boundary, userinfo tricks, `..;/`, encoded slashes,
 * `JaVaScRiPt:`). A candidate matches a registered URL only when, after WHATWG parsing,
 * scheme, host and port are equal and the path equals the registered path or lies under it
 * on a `/` boundary. Anything a lenient server or the app behind it could re-interpret is
 * refused outright rather than normalised.
 */

export const MAX_RETURN_URL_LENGTH = 2048;

// C0 controls, space, DEL and backslash: WHATWG silently strips or rewrites them, so their
// presence means the string does not say what it appears to say.
// eslint-disable-next-line no-control-regex
const SUSPICIOUS_CHARACTERS = /[\u0000-\u0020\u007f\\]/;
// Encoded dot, slash, backslash, NUL and percent (double encoding) in the path, and `;`
// path parameters (Tomcat's `..;/`), can be decoded into traversal by the app's server.
const SUSPICIOUS_PATH = /%(2e|2f|5c|00|25)|;/i;

export function parseReturnUrl(candidate: string): URL | undefined {
  if (candidate.length === 0 || candidate.length > MAX_RETURN_URL_LENGTH) return undefined;
  if (SUSPICIOUS_CHARACTERS.test(candidate)) return undefined;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '' || url.hash !== '' || candidate.includes('#')) return undefined;
  if (SUSPICIOUS_PATH.test(url.pathname)) return undefined;
  return url;
}

function pathIsUnder(candidatePath: string, registeredPath: string): boolean {
  if (candidatePath === registeredPath) return true;
  const prefix = registeredPath.endsWith('/') ? registeredPath : `${registeredPath}/`;
  return candidatePath.startsWith(prefix);
}

/** Registered URLs come from the config (validated at start-up): each is parsed once. */
const parsedRegistered = new Map<string, URL>();

function registeredUrl(registered: string): URL {
  let url = parsedRegistered.get(registered);
  if (url === undefined) {
    // bounded anyway, should a caller ever pass something other than configured URLs
    if (parsedRegistered.size >= 10_000) parsedRegistered.clear();
    parsedRegistered.set(registered, (url = new URL(registered)));
  }
  return url;
}

export function returnUrlMatches(candidate: URL, registered: string): boolean {
  const allowed = registeredUrl(registered);
  return (
    candidate.protocol === allowed.protocol &&
    candidate.hostname === allowed.hostname &&
    candidate.port === allowed.port &&
    pathIsUnder(candidate.pathname, allowed.pathname)
  );
}

/** Returns the parsed, normalised URL to send the browser to, or undefined when nothing matches. */
export function matchReturnUrl(candidate: string, registered: readonly string[]): URL | undefined {
  const url = parseReturnUrl(candidate);
  if (!url) return undefined;
  return registered.some((entry) => returnUrlMatches(url, entry)) ? url : undefined;
}
