/** Appends a path to the issuer URL; the issuer may itself live under a path prefix. */
export function joinIssuerPath(issuer: string, path: string): string {
  return issuer.replace(/\/+$/, '') + path;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Keys fetched over plain http could be swapped in transit, so allow it for loopback only. */
export function assertTrustworthyUrl(value: string, label: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new TypeError(`${label} must be an absolute URL`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return parsed;
  throw new TypeError(`${label} must use https (plain http is allowed for loopback hosts only)`);
}
