import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { JWK } from 'jose';
import { createGrantVerifier, type GrantVerifierOptions } from '../../src/client/index.ts';
import { APP_ID, T0_MS, makeKey, signGrant, userClaims, type TestKey } from './helpers.ts';

const NONCE = 'jwks-test-nonce';

/** A stand-in for webiso's /.well-known/jwks.json that counts fetches and can rotate keys. */
interface JwksServer {
  issuer: string;
  fetches: () => number;
  publish: (...keys: TestKey[]) => void;
  failWith: (status: number | null) => void;
  close: () => Promise<void>;
}

async function startJwksServer(): Promise<JwksServer> {
  let keys: JWK[] = [];
  let failStatus: number | null = null;
  let count = 0;
  const server: FastifyInstance = Fastify();
  server.get('/.well-known/jwks.json', async (_request, reply) => {
    count += 1;
    if (failStatus !== null) return reply.code(failStatus).send({ error: 'unavailable' });
    return reply.type('application/jwk-set+json').send({ keys });
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    issuer: `http://127.0.0.1:${address.port}`,
    fetches: () => count,
    publish: (...published) => {
      keys = published.map((key) => key.jwk);
    },
    failWith: (status) => {
      failStatus = status;
    },
    close: () => server.close(),
  };
}

let jwks: JwksServer;
let k1: TestKey;
let k2: TestKey;
let k3: TestKey;

before(async () => {
  jwks = await startJwksServer();
  k1 = await makeKey('EdDSA', 'k1');
  k2 = await makeKey('ES256', 'k2');
  k3 = await makeKey('EdDSA', 'k3');
});

after(async () => {
  await jwks.close();
});

function verifier(options: Partial<GrantVerifierOptions> = {}) {
  return createGrantVerifier({ issuer: jwks.issuer, appId: APP_ID, now: () => T0_MS, ...options });
}

async function grantFrom(key: TestKey): Promise<string> {
  return signGrant(key, { ...userClaims(NONCE), iss: jwks.issuer });
}

async function codeOf(promise: Promise<{ ok: true } | { ok: false; error: { code: string } }>): Promise<string> {
  const result = await promise;
  return result.ok ? 'ok' : result.error.code;
}

describe('remote JWKS: caching and refetch on unknown kid', () => {
  it('fetches once, caches, and refetches when a new kid appears after rotation', async () => {
    jwks.failWith(null);
    jwks.publish(k1);
    const v = verifier({ jwksCooldownSeconds: 0 });
    const start = jwks.fetches();

    assert.equal(await codeOf(v.verify(await grantFrom(k1), { expectedNonce: NONCE })), 'ok');
    assert.equal(jwks.fetches() - start, 1, 'first verification fetches the JWKS');

    assert.equal(await codeOf(v.verify(await grantFrom(k1), { expectedNonce: NONCE })), 'ok');
    assert.equal(jwks.fetches() - start, 1, 'a known kid is served from the cache');

    jwks.publish(k1, k2); // webiso rotates: k2 is new
    assert.equal(await codeOf(v.verify(await grantFrom(k2), { expectedNonce: NONCE })), 'ok');
    assert.equal(jwks.fetches() - start, 2, 'an unknown kid triggers exactly one refetch');

    assert.equal(await codeOf(v.verify(await grantFrom(k3), { expectedNonce: NONCE })), 'grant_unknown_key');
    assert.equal(jwks.fetches() - start, 3, 'a kid missing even after refetch is rejected');
  });

  it('does not refetch within the cooldown', async () => {
    jwks.failWith(null);
    jwks.publish(k1);
    const v = verifier(); // default cooldown: 30 s
    const start = jwks.fetches();
    assert.equal(await codeOf(v.verify(await grantFrom(k1), { expectedNonce: NONCE })), 'ok');
    jwks.publish(k1, k2);
    assert.equal(await codeOf(v.verify(await grantFrom(k2), { expectedNonce: NONCE })), 'grant_unknown_key');
    assert.equal(jwks.fetches() - start, 1);
  });

  it('reports jwks_unavailable when the JWKS endpoint fails', async () => {
    jwks.failWith(500);
    const v = verifier();
    assert.equal(await codeOf(v.verify(await grantFrom(k1), { expectedNonce: NONCE })), 'jwks_unavailable');
    jwks.failWith(null);
  });

  it('reports jwks_unavailable when nothing listens', async () => {
    const v = createGrantVerifier({ issuer: 'http://127.0.0.1:9', appId: APP_ID, now: () => T0_MS, jwksTimeoutMs: 2000 });
    const grant = await signGrant(k1, { ...userClaims(NONCE), iss: 'http://127.0.0.1:9' });
    assert.equal(await codeOf(v.verify(grant, { expectedNonce: NONCE })), 'jwks_unavailable');
  });
});
