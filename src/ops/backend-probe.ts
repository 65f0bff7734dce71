import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { VerifierConfig } from '../config/schema.ts';

/**
 * Is the password back-end reachable? A TCP connection to the LDAP server or to each listed KDC
 * (MIT KDCs listen on TCP as well as UDP), with a short timeout. It proves the network path and a
 * listening daemon, nothing more: no bind, no ticket, no credentials spent on a health probe.
 */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export type ProbeResult = { readonly ok: true; readonly target: string } | { readonly ok: false; readonly target: string; readonly error: string };

export function ldapEndpoint(url: string): Endpoint {
  const parsed = new URL(url);
  const port = parsed.port === '' ? (parsed.protocol === 'ldaps:' ? 636 : 389) : Number(parsed.port);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port };
}

/** `kdc = host[:port]` lines of the realm's stanza in krb5.conf ([realms] REALM = { … }). */
export function kdcEndpoints(krb5Conf: string, realm: string): Endpoint[] {
  const endpoints: Endpoint[] = [];
  let inRealms = false;
  let inRealm = false;
  for (const raw of krb5Conf.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (/^\[.*\]$/.test(line)) {
      inRealms = line === '[realms]';
      inRealm = false;
    } else if (inRealms && new RegExp(`^${realm.replace(/[.]/g, '\\.')}\\s*=\\s*\\{$`).test(line)) {
      inRealm = true;
    } else if (inRealm && line === '}') {
      inRealm = false;
    } else if (inRealm) {
      const match = /^kdc\s*=\s*(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(line);
      if (match?.[1]) endpoints.push({ host: match[1].replace(/^\[|\]$/g, ''), port: match[2] ? Number(match[2]) : 88 });
    }
  }
  return endpoints;
}

export function tcpProbe(endpoint: Endpoint, timeoutMs: number): Promise<ProbeResult> {
  const target = `${endpoint.host}:${endpoint.port}`;
  return new Promise((resolve) => {
    const socket = createConnection({ host: endpoint.host, port: endpoint.port });
    const finish = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, target, error: 'timeout' }));
    socket.once('connect', () => finish({ ok: true, target }));
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ ok: false, target, error: error.code ?? 'error' }));
  });
}

/** The endpoints one verifier config depends on; empty for the local verifier. */
export function backendEndpoints(verifier: VerifierConfig, env: NodeJS.ProcessEnv = process.env): Endpoint[] | { error: string } {
  if (verifier.kind === 'local') return [];
  if (verifier.kind === 'ldap') return [ldapEndpoint(verifier.url)];
  const path = verifier.krb5Config ?? env.KRB5_CONFIG ?? '/etc/krb5.conf';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { error: `cannot read krb5.conf: ${(error as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  const endpoints = kdcEndpoints(text, verifier.realms[0] ?? '');
  return endpoints.length > 0 ? endpoints : { error: 'no kdc listed for the default realm in krb5.conf' };
}

/** Reachable when any endpoint answers (a realm lists its KDCs as alternatives). */
export async function probeBackend(endpoints: readonly Endpoint[], timeoutMs: number): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const endpoint of endpoints) {
    const result = await tcpProbe(endpoint, timeoutMs);
    results.push(result);
    if (result.ok) break;
  }
  return results;
}
