// The client library against the real webiso: a real SSO login's grant (with its sid) and logout
// tokens from webiso's own signer, checked with the keys webiso publishes.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { createLogoutTokenVerifier, webisoAuth } from '../../src/client/index.ts';
import { signLogoutToken } from '../../src/logout/logout-token.ts';
import { ISSUER, createTestApp, grantOf, loginThroughForm, type TestApp } from '../support/webiso.ts';
import { NONCE_COOKIE, SESSION_COOKIE, cookieValue, postCallback, postLogoutToken, whoIsLoggedIn } from './plugin-harness.ts';

const APP_ID = 'app';
const SECRET = 'contract-test-cookie-secret-0123456789';

let webiso: TestApp;
let jwks: JWTVerifyGetKey;

before(async () => {
  webiso = await createTestApp();
  const published = (await webiso.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet;
  jwks = createLocalJWKSet(published);
});
after(() => webiso.close());

async function relyingApp(): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(webisoAuth, { issuer: ISSUER, appId: APP_ID, publicUrl: 'https://app.example.edu', cookieSecret: SECRET, jwks });
  app.get('/', async (request) => ({ webiso: request.webiso }));
  app.get('/private', { preHandler: app.webisoRequire() }, async (request) => ({ webiso: request.webiso }));
  await app.ready();
  return app;
}

/** The browser's round trip: app → webiso login form → grant → app callback. Returns the app session cookie. */
async function logInThroughWebiso(app: FastifyInstance): Promise<string> {
  const start = await app.inject({ method: 'GET', url: '/private' });
  assert.equal(start.statusCode, 302);
  const location = new URL(String(start.headers.location));
  assert.equal(location.origin, ISSUER);
  const { response } = await loginThroughForm(webiso.app, { query: location.search.slice(1) });
  const grant = grantOf(response.body);
  assert.ok(grant, response.body.slice(0, 300));
  const callback = await postCallback(app, { grant }, { [NONCE_COOKIE]: cookieValue(start, NONCE_COOKIE) });
  assert.equal(callback.statusCode, 303, callback.body);
  return cookieValue(callback, SESSION_COOKIE);
}

function sidOf(session: string): string {
  const decoded = JSON.parse(Buffer.from(session.split('.')[0] ?? '', 'base64url').toString()) as { identity: { sid?: unknown } };
  assert.equal(typeof decoded.identity.sid, 'string', 'the real grant carries a sid');
  return decoded.identity.sid as string;
}

describe('contract with the real webiso', () => {
  it("a real grant's sid lands in the app session, and webiso's own logout token for it ends the session", async () => {
    const app = await relyingApp();
    const session = await logInThroughWebiso(app);
    const sid = sidOf(session);
    assert.equal(await whoIsLoggedIn(app, session), 'alice');

    const token = signLogoutToken(webiso.app.webiso.keystore, {
      issuer: ISSUER,
      appId: APP_ID,
      sid,
      subject: 'alice',
      kind: 'user',
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    const res = await postLogoutToken(app, token);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(await whoIsLoggedIn(app, session), null);
  });

  it("webiso's machine logout token verifies as a machine event", async () => {
    const verifier = createLogoutTokenVerifier({ issuer: ISSUER, appId: APP_ID, jwks });
    const sid = `m${'A'.repeat(31)}`;
    const token = signLogoutToken(webiso.app.webiso.keystore, {
      issuer: ISSUER,
      appId: APP_ID,
      sid,
      subject: 'machine:kiosk-1.lib.example.edu',
      kind: 'machine',
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    const result = await verifier.verify(token);
    assert.ok(result.ok, result.ok ? '' : result.error.code);
    assert.deepEqual([result.logout.kind, result.logout.sid, result.logout.kind === 'machine' && result.logout.fqdn], ['machine', sid, 'kiosk-1.lib.example.edu']);
  });
});
