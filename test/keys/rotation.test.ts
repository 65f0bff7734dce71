import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import type { FastifyInstance } from 'fastify';
import { createKeysRepository } from '../../src/keys/keys-repository.ts';
import { createKeystore } from '../../src/keys/keystore.ts';
import {
  ALICE_PASSWORD,
  attemptLogin,
  CookieJar,
  countRows,
  createTestApp,
  fakeClock,
  grantOf,
  HTML,
  loginQuery,
  testConfig,
  verifyGrantWithJwks,
} from '../support/webiso.ts';

async function jwksKids(app: FastifyInstance): Promise<string[]> {
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet;
  return jwks.keys.map((key) => key.kid!).sort();
}

async function ssoGrant(app: FastifyInstance, jar: CookieJar): Promise<string> {
  const response = await app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: { ...HTML, ...jar.header() } });
  const grant = grantOf(response.body);
  assert.ok(grant, response.body.slice(0, 300));
  return grant;
}

const GRACE_SECONDS = 60 + 300; // grant lifetime + the retired-key margin

describe('signing key rotation', () => {
  it('rotate: the new key signs, the old stays published and its grants verify, its private half is erased', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const { response, jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const oldGrant = grantOf(response.body)!;
      const oldKid = decodeProtectedHeader(oldGrant).kid!;
      assert.deepEqual(await jwksKids(t.app), [oldKid]);

      const newKid = await t.app.webiso.keystore.rotate('grant', 'EdDSA');
      assert.notEqual(newKid, oldKid);
      assert.deepEqual(await jwksKids(t.app), [newKid, oldKid].sort());

      const newGrant = await ssoGrant(t.app, jar);
      assert.equal(decodeProtectedHeader(newGrant).kid, newKid);
      assert.equal((await verifyGrantWithJwks(t.app, newGrant, { now: clock.now() })).payload.sub, 'alice');
      assert.equal((await verifyGrantWithJwks(t.app, oldGrant, { now: clock.now() })).payload.sub, 'alice');

      const rows = await t.app.webiso.store.db.selectFrom('signing_keys').select(['kid', 'private_jwk', 'retired_at', 'publish_until']).where('purpose', '=', 'grant').orderBy('created_at').execute();
      assert.equal(rows.length, 2);
      const retired = rows.find((row) => row.kid === oldKid)!;
      const active = rows.find((row) => row.kid === newKid)!;
      assert.equal(retired.private_jwk, null, 'the retired private key is erased');
      assert.equal(retired.retired_at, Math.floor(clock.now() / 1000));
      assert.equal(retired.publish_until, Math.floor(clock.now() / 1000) + GRACE_SECONDS);
      assert.ok(active.private_jwk && JSON.parse(active.private_jwk).d, 'the active key has its private half');
      assert.equal(active.retired_at, null);
      assert.equal(active.publish_until, null);
    } finally {
      await t.close();
    }
  });

  it('after the grace period the old key leaves the JWKS and its grants no longer verify', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const { response, jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const oldGrant = grantOf(response.body)!;
      const oldKid = decodeProtectedHeader(oldGrant).kid!;
      const newKid = await t.app.webiso.keystore.rotate('grant', 'EdDSA');

      // just before the end of the grace period the old key is still published
      clock.advance(GRACE_SECONDS - 1);
      assert.deepEqual(await jwksKids(t.app), [newKid, oldKid].sort());
      assert.ok(await t.app.webiso.keystore.verificationKey('grant', oldKid));

      clock.advance(1);
      assert.deepEqual(await jwksKids(t.app), [newKid]);
      assert.equal(await t.app.webiso.keystore.verificationKey('grant', oldKid), undefined);
      // a verifier that only has the JWKS can no longer check the old grant (whatever the clock says)
      await assert.rejects(verifyGrantWithJwks(t.app, oldGrant, { now: clock.now() - GRACE_SECONDS * 1000 }), joseErrors.JWKSNoMatchingKey);
      // new grants keep working
      assert.equal((await verifyGrantWithJwks(t.app, await ssoGrant(t.app, jar), { now: clock.now() })).payload.sub, 'alice');
    } finally {
      await t.close();
    }
  });

  it('the grace period covers the longest grant lifetime, so no valid grant ever loses its key', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now, config: testConfig({ grant: { lifetimeSeconds: 300 } }) });
    try {
      const { response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const grant = grantOf(response.body)!;
      await t.app.webiso.keystore.rotate('grant', 'EdDSA');
      clock.advance(299); // the grant is still within its 300 s lifetime
      const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet;
      const { payload } = await jwtVerify(grant, createLocalJWKSet(jwks), { algorithms: ['EdDSA'], audience: 'app', currentDate: new Date(clock.now()) });
      assert.equal(payload.exp! - payload.iat!, 300);
    } finally {
      await t.close();
    }
  });

  it('a rotation by another process (the CLI) on the same database is picked up within the cache period', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const before = decodeProtectedHeader(await ssoGrant(t.app, jar)).kid;
      const cli = createKeystore({ repository: createKeysRepository(t.app.webiso.store.db), now: clock.now, retiredKeyGraceSeconds: GRACE_SECONDS });
      const rotatedKid = await cli.rotate('grant', 'ES256');
      cli.close();
      clock.advance(5);
      // the server's background refresh (every 5 s on a real timer, which this fake clock does not
      // drive: test/keys/key-cache.test.ts waits for the real one)
      await t.app.webiso.keystore.refresh();
      const after = await ssoGrant(t.app, jar);
      const header = decodeProtectedHeader(after);
      assert.equal(header.kid, rotatedKid);
      assert.notEqual(header.kid, before);
      assert.equal(header.alg, 'ES256');
      assert.deepEqual(await jwksKids(t.app), [before!, rotatedKid].sort());
    } finally {
      await t.close();
    }
  });

  it('ensureKey on start creates one key only once', async () => {
    const t = await createTestApp();
    try {
      await t.app.webiso.keystore.ensureKey('grant', 'EdDSA');
      await t.app.webiso.keystore.ensureKey('grant', 'EdDSA');
      assert.equal(await countRows(t.app, 'signing_keys', { purpose: 'grant' }), 1);
    } finally {
      await t.close();
    }
  });
});
