import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { OIDC_MOUNT } from './issuer.ts';

/**
 * oidc-provider mounted under /oidc the way its docs mount it in frameworks without middleware
 * (hapi, nest): the raw request and response go to `provider.callback()` with the prefix moved
 * from `url` to `originalUrl`, which the provider reads as its mount path. Fastify's body parsers
 * are off in this scope (the provider reads its own bodies) and the reply is hijacked.
 *
 * Host, protocol and client address are pinned before the provider sees the request: its
 * endpoints in discovery are built from the configured issuer, never from a Host header, and the
 * client address is Fastify's (which honours trustedProxies only).
 */

interface MountedRequest {
  originalUrl?: string | undefined;
}

const BASELINE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

function pinOrigin(request: FastifyRequest, issuer: URL): void {
  const headers = request.raw.headers;
  headers['x-forwarded-host'] = issuer.host;
  headers['x-forwarded-proto'] = issuer.protocol.replace(/:$/, '');
  headers['x-forwarded-for'] = request.ip;
}

async function passToProvider(callback: ReturnType<Provider['callback']>, issuer: URL, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.hijack();
  const raw = request.raw as typeof request.raw & MountedRequest;
  const original = raw.url ?? OIDC_MOUNT;
  pinOrigin(request, issuer);
  for (const [name, value] of Object.entries(BASELINE_HEADERS)) reply.raw.setHeader(name, value);
  raw.originalUrl = original;
  raw.url = original.slice(OIDC_MOUNT.length) || '/';
  try {
    await callback(raw, reply.raw);
  } finally {
    raw.url = original;
    raw.originalUrl = undefined;
  }
}

/** Registers the catch-all in its own encapsulated scope (no body parsing there). */
export async function mountProvider(app: FastifyInstance, provider: Provider, issuer: string): Promise<void> {
  const callback = provider.callback();
  const issuerUrl = new URL(issuer);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    scope.all(`${OIDC_MOUNT}/*`, async (request, reply) => passToProvider(callback, issuerUrl, request, reply));
  });
}
