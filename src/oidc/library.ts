import type { FastifyBaseLogger } from 'fastify';

/** The oidc-provider module, loaded on demand. */
export type OidcLibrary = typeof import('oidc-provider');

let loaded: Promise<OidcLibrary> | undefined;

/**
 * oidc-provider is imported only when a client is configured, so the CLI and servers without OIDC
 * never load it. On Node 20 it prints "Unsupported runtime" at import (it asks for Node 22 and
 * declares no engines; it works on 20 and the suite proves it, docs/oidc.md): that console line
 * becomes one structured log line in webiso's format instead.
 */
export function loadOidcLibrary(log: FastifyBaseLogger): Promise<OidcLibrary> {
  loaded ??= (async () => {
    const notices: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void notices.push(args.map(String).join(' '));
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = original;
      for (const notice of notices) log.warn({ event: 'oidc.runtime_notice', notice }, notice);
    }
  })();
  return loaded;
}
