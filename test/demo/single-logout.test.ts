import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildDemoApp } from '../../src/demo/app.ts';
import { ISSUER, fakeClock, localJwks, machineGrant, makeKey, randomSid, userGrant, userLogoutToken, type TestKey } from '../client/helpers.ts';

const SECRET = 'demo-test-cookie-secret-0123456789';
const NONCE_COOKIE = '__Host-webiso_app_nonce';
const SESSION_COOKIE = '__Host-webiso_app_session';

let key: TestKey;
before(async () => {
  key = await makeKey('EdDSA', 'demo-logout-key');
});

function cookieValue(res: LightMyRequestResponse, name: string): string | undefined {
  const header = res.headers['set-cookie'];
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [String(header)];
  return lines.find((line) => line.startsWith(`${name}=`))?.slice(name.length + 1).split(';')[0];
}

/** Logs in through the demo's own routes; the grant carries the webiso session id `sid`. */
async function logIn(app: FastifyInstance, path: string, grantFor: (nonce: string) => Promise<string>, session?: string): Promise<string> {
  const start = await app.inject({ method: 'GET', url: path });
  const nonce = new URL(String(start.headers.location)).searchParams.get('nonce') ?? '';
  const cookies: Record<string, string> = { [NONCE_COOKIE]: cookieValue(start, NONCE_COOKIE) ?? '' };
  if (session !== undefined) cookies[SESSION_COOKIE] = session;
  const callback = await app.inject({
    method: 'POST',
    url: '/webiso/callback',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    cookies,
    payload: new URLSearchParams({ grant: await grantFor(nonce) }).toString(),
  });
  assert.equal(callback.statusCode, 303, callback.body);
  const value = cookieValue(callback, SESSION_COOKIE);
  assert.ok(value);
  return value;
}

function home(app: FastifyInstance, session: string) {
  return app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } });
}

function backchannelLogout(app: FastifyInstance, token: string) {
  return app.inject({
    method: 'POST',
    url: '/webiso/backchannel-logout',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ logout_token: token }).toString(),
  });
}

describe('demo app: single logout', () => {
  it("after webiso logs bob out, the home page never shows him again and says his session ended", async () => {
    const clock = fakeClock();
    const app = buildDemoApp({ issuer: ISSUER, cookieSecret: SECRET, auth: { jwks: localJwks(key), now: clock.now } });
    const bobSid = randomSid();
    const bob = await logIn(app, '/private', (nonce) => userGrant(key, nonce, { sub: 'bob', sid: bobSid }, clock.now() / 1000));
    const before = await home(app, bob);
    assert.match(before.body, /data-field="username">bob</);
    assert.equal(before.headers['cache-control'], 'no-store', 'a back button must not bring bob back');

    clock.advance(30);
    const logout = await backchannelLogout(app, await userLogoutToken(key, bobSid, { sub: 'bob' }, clock.now() / 1000));
    assert.equal(logout.statusCode, 200, logout.body);

    const after = await home(app, bob);
    assert.doesNotMatch(after.body, /bob/);
    assert.match(after.body, /data-field="session-ended">Your demo app session has ended/);
    assert.equal(cookieValue(after, SESSION_COOKIE), '', 'the cookie is cleared');
    const privatePage = await app.inject({ method: 'GET', url: '/private', cookies: { [SESSION_COOKIE]: bob } });
    assert.equal(privatePage.statusCode, 302, 'bob would have to log in again');
  });

  it("on a kiosk: bob's session ends, the kiosk machine logs in next, and nothing of bob is shown", async () => {
    const clock = fakeClock();
    const app = buildDemoApp({ issuer: ISSUER, cookieSecret: SECRET, auth: { jwks: localJwks(key), now: clock.now } });
    const bobSid = randomSid();
    const bob = await logIn(app, '/kiosk', (nonce) => userGrant(key, nonce, { sub: 'bob', sid: bobSid, flavor: 'machineoruser' }, clock.now() / 1000));
    clock.advance(30);
    assert.equal((await backchannelLogout(app, await userLogoutToken(key, bobSid, { sub: 'bob' }, clock.now() / 1000))).statusCode, 200);

    const kiosk = await app.inject({ method: 'GET', url: '/kiosk', cookies: { [SESSION_COOKIE]: bob } });
    assert.equal(kiosk.statusCode, 302, 'the next visitor starts a fresh login');
    const machine = await logIn(app, '/kiosk', (nonce) => machineGrant(key, nonce, { sid: randomSid() }, clock.now() / 1000), bob);
    const page = await app.inject({ method: 'GET', url: '/kiosk', cookies: { [SESSION_COOKIE]: machine } });
    assert.match(page.body, /data-field="machine">kiosk-1\.lib\.example\.edu</);
    assert.doesNotMatch(page.body, /bob/);
  });

  it('a bad logout token changes nothing and gets a 400', async () => {
    const clock = fakeClock();
    const app = buildDemoApp({ issuer: ISSUER, cookieSecret: SECRET, auth: { jwks: localJwks(key), now: clock.now } });
    const sid = randomSid();
    const alice = await logIn(app, '/private', (nonce) => userGrant(key, nonce, { sid }, clock.now() / 1000));
    const res = await backchannelLogout(app, await userLogoutToken(key, sid, { aud: 'not-the-demo' }, clock.now() / 1000));
    assert.equal(res.statusCode, 400);
    assert.equal((res.json() as { error: string }).error, 'invalid_request');
    assert.match((await home(app, alice)).body, /data-field="username">alice</);
  });
});
