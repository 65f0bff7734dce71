// The client's loop breaker against the real webiso: the app refuses webiso's real grants (a clock
// ten minutes off, a stale key set) while webiso answers every bounce from its SSO session.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { webisoAuth } from '../../src/client/index.ts';
import { CookieJar, ISSUER, auditEvents, createTestApp, fakeClock, grantOf, loginThroughForm, type TestApp } from '../support/webiso.ts';
import { localJwks, makeKey } from './helpers.ts';
import { SESSION_COOKIE, setCookie, isCleared } from './plugin-harness.ts';

const PUBLIC_URL = 'https://app.example.edu';
const LOOP_COOKIE = '__Host-webiso_app_logins';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const clock = fakeClock();
let webiso: TestApp;
let webisoKeys: JWTVerifyGetKey;

before(async () => {
  webiso = await createTestApp({ now: clock.now });
  webisoKeys = createLocalJWKSet((await webiso.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet);
});
after(() => webiso.close());

interface AppSetup {
  /** The app's clock minus webiso's, in seconds. */
  offsetSeconds?: number;
  clockSkewSeconds?: number;
  jwks?: JWTVerifyGetKey;
}

async function relyingApp(setup: AppSetup): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(webisoAuth, {
    issuer: ISSUER,
    appId: 'app',
    publicUrl: PUBLIC_URL,
    cookieSecret: 'loop-test-cookie-secret-0123456789abcdef',
    jwks: setup.jwks ?? webisoKeys,
    now: () => clock.now() + (setup.offsetSeconds ?? 0) * 1000,
    ...(setup.clockSkewSeconds !== undefined ? { clockSkewSeconds: setup.clockSkewSeconds } : {}),
  });
  app.get('/private', { preHandler: app.webisoRequire() }, async (request) => ({ webiso: request.webiso }));
  await app.ready();
  return app;
}

/** One browser: app cookies, webiso cookies. */
function browser() {
  return { app: new CookieJar(), webiso: new CookieJar() };
}

/** GET /private; if redirected, webiso answers (a password the first time, SSO after) and the browser posts the grant. */
async function roundTrip(app: FastifyInstance, jars: ReturnType<typeof browser>) {
  const start = await app.inject({ method: 'GET', url: '/private', headers: jars.app.header() });
  jars.app.store(start);
  if (start.statusCode !== 302) return { start, callback: undefined };
  const location = new URL(String(start.headers.location));
  assert.equal(location.origin, ISSUER);
  const { response } = await loginThroughForm(webiso.app, { query: location.search.slice(1), jar: jars.webiso });
  const grant = grantOf(response.body);
  assert.ok(grant, `webiso answered with a grant: ${response.body.slice(0, 200)}`);
  const callback = await app.inject({ method: 'POST', url: '/webiso/callback', headers: { ...FORM, ...jars.app.header() }, payload: new URLSearchParams({ grant }).toString() });
  jars.app.store(callback);
  return { start, callback };
}

async function ssoAnswers(): Promise<number> {
  return (await auditEvents(webiso.app)).filter((row) => row.event === 'login.sso').length;
}

describe('client loop breaker with the real webiso', () => {
  it('an app whose clock is 10 minutes ahead refuses every grant: the 6th round trip is the page, and after the window it redirects again', async () => {
    const app = await relyingApp({ offsetSeconds: 600 });
    const jars = browser();
    const ssoBefore = await ssoAnswers();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const trip = await roundTrip(app, jars);
      statuses.push(trip.start.statusCode);
      if (trip.callback === undefined) continue;
      assert.equal(trip.callback.statusCode, 401);
      assert.match(trip.callback.body, /grant_(expired|too_old)/);
    }
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429]);
    assert.equal((await ssoAnswers()) - ssoBefore, 4, 'webiso answered four times from its SSO session after the password login');
    assert.ok(!(await auditEvents(webiso.app)).some((row) => row.event === 'login.loop_stopped'), 'the app stopped first (5 per 60 s against webiso\'s 10 per 30 s)');

    clock.advance(61);
    const again = await roundTrip(app, jars);
    assert.equal(again.start.statusCode, 302, 'a new window');
    assert.equal(again.callback?.statusCode, 401, 'still refused: the clock is still off');
  });

  it('a stale key set refuses twice, then the login goes through, and the count starts again', async () => {
    let keys = localJwks(await makeKey('EdDSA', 'retired-key'));
    const app = await relyingApp({ jwks: (header, token) => keys(header, token) });
    const jars = browser();
    for (let i = 0; i < 2; i++) {
      const trip = await roundTrip(app, jars);
      assert.equal(trip.callback?.statusCode, 401);
      assert.match(trip.callback?.body ?? '', /grant_unknown_key/);
    }
    keys = webisoKeys; // the app picks up webiso's current keys
    const login = await roundTrip(app, jars);
    assert.equal(login.callback?.statusCode, 303, login.callback?.body);
    const page = await app.inject({ method: 'GET', url: '/private', headers: jars.app.header() });
    assert.equal(page.statusCode, 200);
    assert.equal((page.json() as { webiso: { username: string } }).webiso.username, 'alice');
    assert.ok(isCleared(setCookie(page, LOOP_COOKIE)));
    jars.app.store(page);

    jars.app.cookies.delete(SESSION_COOKIE);
    keys = localJwks(await makeKey('EdDSA', 'retired-key'));
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await roundTrip(app, jars)).start.statusCode);
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429], 'five fresh logins after the good one, not two');
  });

  for (const offsetSeconds of [60, -60]) {
    it(`an app clock ${offsetSeconds > 0 ? 'a minute ahead' : 'a minute behind'} completes a real login within clockSkewSeconds: 90`, async () => {
      const app = await relyingApp({ offsetSeconds, clockSkewSeconds: 90 });
      const jars = browser();
      const trip = await roundTrip(app, jars);
      assert.equal(trip.callback?.statusCode, 303, trip.callback?.body);
      const page = await app.inject({ method: 'GET', url: '/private', headers: jars.app.header() });
      assert.equal(page.statusCode, 200);

      // The configured skew is what carries it: twice the offset with the default 5 s is refused.
      const strict = await relyingApp({ offsetSeconds: 2 * offsetSeconds });
      const refused = await roundTrip(strict, { app: new CookieJar(), webiso: jars.webiso });
      assert.equal(refused.callback?.statusCode, 401);
      assert.match(refused.callback?.body ?? '', offsetSeconds > 0 ? /grant_(expired|too_old)/ : /grant_not_yet_valid/);
    });
  }
});
