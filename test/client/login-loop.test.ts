// The client's redirect-loop breaker with grants from a fake webiso: exact counts, the window,
// forged counter cookies, the page, the log line, the options.
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { webisoAuth } from '../../src/client/index.ts';
import { createSignedCookieCodec } from '../../src/client/signed-cookie.ts';
import { CookieJar } from '../support/webiso.ts';
import { APP_ID, ISSUER, fakeClock, localJwks, makeKey, userGrant, type TestKey } from './helpers.ts';
import { PUBLIC_URL, SECRET, SESSION_COOKIE, buildApp, cookieValue, isCleared, setCookie, type Clock } from './plugin-harness.ts';

const LOOP_COOKIE = '__Host-webiso_app_logins';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let key: TestKey;
before(async () => {
  key = await makeKey('EdDSA', 'loop-key');
});

type GrantFor = (nonce: string) => Promise<string>;
/** What an app with a wrong appId (audience) gets from webiso, every time. */
const wrongAudience = (clock: Clock): GrantFor => (nonce) => userGrant(key, nonce, { aud: 'another-app' }, clock.now() / 1000);
const goodGrant = (clock: Clock): GrantFor => (nonce) => userGrant(key, nonce, {}, clock.now() / 1000);

/** One browser round trip: GET the page; if redirected, webiso answers at once and the browser posts the grant back. */
async function roundTrip(app: FastifyInstance, jar: CookieJar, grantFor: GrantFor, path = '/private') {
  const start = await app.inject({ method: 'GET', url: path, headers: jar.header() });
  jar.store(start);
  if (start.statusCode !== 302) return { start, callback: undefined, grant: undefined };
  const nonce = new URL(String(start.headers.location)).searchParams.get('nonce') ?? '';
  const grant = await grantFor(nonce);
  const callback = await app.inject({ method: 'POST', url: '/webiso/callback', headers: { ...FORM, ...jar.header() }, payload: new URLSearchParams({ grant }).toString() });
  jar.store(callback);
  return { start, callback, grant };
}

/** The login count sealed in the loop cookie a response set. */
function countIn(res: LightMyRequestResponse): number {
  const body = cookieValue(res, LOOP_COOKIE).split('.')[0] ?? '';
  return (JSON.parse(Buffer.from(body, 'base64url').toString()) as { count: number }).count;
}

function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, server: { logger: { level: 'info', stream } } };
}

describe('client loop breaker: counting', () => {
  it('an app that keeps refusing grants is stopped with the page on exactly the 6th round trip', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const jar = new CookieJar();
    const statuses: number[] = [];
    let lastGrant = '';
    for (let i = 1; i <= 6; i++) {
      const trip = await roundTrip(app, jar, wrongAudience(clock), '/private?x=1&y=<2>');
      statuses.push(trip.start.statusCode);
      if (trip.callback === undefined) continue;
      assert.equal(countIn(trip.start), i, 'the count rides on the redirect');
      assert.equal(trip.callback.statusCode, 401);
      assert.match(trip.callback.body, /grant_wrong_audience/);
      assert.equal(setCookie(trip.callback, LOOP_COOKIE), undefined, 'a refused grant leaves the count alone');
      lastGrant = trip.grant ?? '';
    }
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429]);

    const stop = await app.inject({ method: 'GET', url: '/private?x=1&y=<2>', headers: jar.header() });
    assert.equal(stop.statusCode, 429);
    assert.equal(stop.headers.location, undefined);
    assert.equal(stop.headers['retry-after'], '60');
    assert.equal(setCookie(stop, '__Host-webiso_app_nonce'), undefined, 'no new login attempt is started');
    assert.match(String(stop.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.equal(stop.headers['cache-control'], 'no-store');
    assert.match(String(stop.headers['content-security-policy']), /default-src 'none'/);
    assert.match(stop.body, /id="login-loop">This application and the login server have sent your browser back and forth 5 times within a minute/);
    for (const cause of [/clock is off by more than the allowed skew/, /wrong issuer or app id \(audience\)/, /blocks the application's cookies/, /contact the application's administrators/]) {
      assert.match(stop.body, cause);
    }
    assert.match(stop.body, /<a href="\/private\?x=1&amp;y=%3C2%3E" id="login-loop-retry">Try again<\/a> <span class="note">\(after a minute\)<\/span>/);
    assert.match(stop.body, /Error code: <code>login_loop_stopped<\/code>/);
    for (const secret of [lastGrant, SECRET, ...jar.cookies.values()]) assert.ok(!stop.body.includes(secret), 'no grant, cookie or secret on the page');
    assert.doesNotMatch(stop.body, /<script|\sstyle=|http-equiv/i, 'CSP-friendly: no script, no style attribute, no refresh');

    const refusal = await app.inject({ method: 'POST', url: '/webiso/callback', headers: FORM, payload: 'grant=x' });
    const styleOf = (html: string) => /<style>[\s\S]*<\/style>/.exec(html)?.[0];
    assert.equal(styleOf(stop.body), styleOf(refusal.body), 'the same look as the other plugin pages');
    assert.equal(stop.headers['content-security-policy'], refusal.headers['content-security-policy']);
  });

  it('after the window it redirects again; being stopped does not extend the window', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const jar = new CookieJar();
    for (let i = 0; i < 5; i++) assert.equal((await roundTrip(app, jar, wrongAudience(clock))).start.statusCode, 302);
    clock.advance(30);
    const stillStopped = (await roundTrip(app, jar, wrongAudience(clock))).start;
    assert.equal(stillStopped.statusCode, 429);
    assert.equal(stillStopped.headers['retry-after'], '30');
    assert.match(stillStopped.body, /\(after 30 seconds\)/);
    assert.equal(setCookie(stillStopped, LOOP_COOKIE), undefined, 'the stop rewrites nothing');
    clock.advance(30);
    const again = (await roundTrip(app, jar, wrongAudience(clock))).start;
    assert.equal(again.statusCode, 302, 'a new window');
    assert.equal(countIn(again), 1);
  });

  it('a normal login after a couple of refused ones is not blocked, and once its session serves the page the count starts again', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const jar = new CookieJar();
    for (let i = 0; i < 2; i++) assert.equal((await roundTrip(app, jar, wrongAudience(clock))).callback?.statusCode, 401);
    const login = await roundTrip(app, jar, goodGrant(clock));
    assert.equal(countIn(login.start), 3);
    assert.equal(login.callback?.statusCode, 303);
    const page = await app.inject({ method: 'GET', url: '/private', headers: jar.header() });
    assert.equal(page.statusCode, 200);
    assert.ok(isCleared(setCookie(page, LOOP_COOKIE)), 'the count is cleared');
    jar.store(page);
    assert.equal(jar.cookies.has(LOOP_COOKIE), false);

    jar.cookies.delete(SESSION_COOKIE); // the app session ends; the same minute, the app starts refusing again
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await roundTrip(app, jar, wrongAudience(clock))).start.statusCode);
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429], 'five more logins before a stop, not two');
  });

  it('a login whose session never comes back is a loop too', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const jar = new CookieJar();
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const trip = await roundTrip(app, jar, goodGrant(clock));
      statuses.push(trip.start.statusCode);
      jar.cookies.delete(SESSION_COOKIE); // e.g. a proxy that drops it, or instances with different secrets
    }
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429]);
  });

  it('the count is in the cookie, so it holds across app instances that share the secret', async () => {
    const clock = fakeClock();
    const instances = [await buildApp(key, clock), await buildApp(key, clock)];
    const jar = new CookieJar();
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await roundTrip(instances[i % 2]!, jar, wrongAudience(clock))).start.statusCode);
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429]);
  });
});

describe('client loop breaker: a counter cookie we did not seal', () => {
  it('counts as no earlier logins, is replaced, and the loop is still stopped from there', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const jar = new CookieJar();
    for (let i = 0; i < 5; i++) await roundTrip(app, jar, wrongAudience(clock));
    const genuine = jar.cookies.get(LOOP_COOKIE) ?? '';
    const [body = '', mac = ''] = genuine.split('.');
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const lowered = `${Buffer.from(JSON.stringify({ ...decoded, count: 1 })).toString('base64url')}.${mac}`;
    const inflated = `${Buffer.from(JSON.stringify({ ...decoded, count: 1000 })).toString('base64url')}.${mac}`;
    const otherSecret = createSignedCookieCodec('another-apps-secret-0123456789abcdef', 'login-loop').seal({ v: 1, start: clock.now(), count: 5 });
    const otherPurpose = createSignedCookieCodec(SECRET, 'login-state').seal({ v: 1, start: clock.now(), count: 5 });
    // Sealed by us, but by an instance whose clock ran an hour ahead: not a lockout for that hour.
    const farFuture = createSignedCookieCodec(SECRET, 'login-loop').seal({ v: 1, start: clock.now() + 3_600_000, count: 5 });
    for (const [label, forged] of Object.entries({ garbage: 'not-a-cookie', lowered, inflated, otherSecret, otherPurpose, farFuture })) {
      const res = await app.inject({ method: 'GET', url: '/private', headers: { cookie: `${LOOP_COOKIE}=${forged}` } });
      assert.equal(res.statusCode, 302, label);
      assert.equal(countIn(res), 1, `${label}: counted from zero, like a browser without the cookie`);
    }

    const fresh = new CookieJar();
    fresh.cookies.set(LOOP_COOKIE, lowered);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await roundTrip(app, fresh, wrongAudience(clock))).start.statusCode);
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429], 'one forged cookie buys one fresh count, not a loop without end');
  });
});

describe('client loop breaker: routes, log and options', () => {
  it('logs one warn line per stop with a stable event and no cookie or grant; a passive route goes on anonymously', async () => {
    const clock = fakeClock();
    const capture = logCapture();
    const app = await buildApp(key, clock, {}, capture.server);
    const jar = new CookieJar();
    for (let i = 0; i < 5; i++) await roundTrip(app, jar, wrongAudience(clock));
    assert.equal((await roundTrip(app, jar, wrongAudience(clock))).start.statusCode, 429);
    const passive = await app.inject({ method: 'GET', url: '/maybe', headers: jar.header() });
    assert.equal(passive.statusCode, 200);
    assert.deepEqual(passive.json(), { webiso: null });

    const stops = capture.lines.filter((line) => line.event === 'webiso.client.loop_stopped');
    assert.equal(stops.length, 2);
    assert.deepEqual(
      stops.map(({ level, appId, logins, windowSeconds, route, passive: isPassive }) => ({ level, appId, logins, windowSeconds, route, passive: isPassive })),
      [
        { level: 40, appId: APP_ID, logins: 5, windowSeconds: 60, route: '/private', passive: false },
        { level: 40, appId: APP_ID, logins: 5, windowSeconds: 60, route: '/maybe', passive: true },
      ],
    );
    const logged = JSON.stringify(capture.lines);
    for (const value of jar.cookies.values()) assert.ok(!logged.includes(value), 'no cookie value in the log');
  });

  it('loopGuard sets the limit and window; maxLogins 0 turns it off; bad values fail at registration', async () => {
    const clock = fakeClock();
    const tight = await buildApp(key, clock, { loopGuard: { maxLogins: 2, windowSeconds: 10 } });
    const jar = new CookieJar();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await roundTrip(tight, jar, wrongAudience(clock))).start.statusCode);
    assert.deepEqual(statuses, [302, 302, 429]);
    const stopped = await tight.inject({ method: 'GET', url: '/private', headers: jar.header() });
    assert.equal(stopped.headers['retry-after'], '10');
    assert.match(stopped.body, /2 times within 10 seconds/);
    assert.match(String(setCookie((await tight.inject({ method: 'GET', url: '/private' })), LOOP_COOKIE)), /Max-Age=10; Path=\/; HttpOnly; Secure; SameSite=Lax/);

    const off = await buildApp(key, clock, { loopGuard: { maxLogins: 0 } });
    const offJar = new CookieJar();
    for (let i = 0; i < 20; i++) {
      const trip = await roundTrip(off, offJar, wrongAudience(clock));
      assert.equal(trip.start.statusCode, 302);
      assert.equal(setCookie(trip.start, LOOP_COOKIE), undefined);
    }

    const bad: unknown[] = [{ maxLogins: -1 }, { maxLogins: 1.5 }, { maxLogins: 1001 }, { maxLogins: '5' }, { windowSeconds: 0 }, { windowSeconds: 3601 }, { windowSeconds: Number.NaN }, null];
    for (const loopGuard of bad) {
      const app = Fastify();
      await assert.rejects(
        (async () => {
          await app.register(webisoAuth, { issuer: ISSUER, appId: APP_ID, publicUrl: PUBLIC_URL, cookieSecret: SECRET, jwks: localJwks(key), loopGuard: loopGuard as never });
          await app.ready();
        })(),
        /loopGuard/,
        JSON.stringify(loopGuard),
      );
    }
  });

  it('without secure cookies the counter drops the prefix like the other cookies', async () => {
    const app = await buildApp(key, fakeClock(), { secureCookies: false });
    const line = setCookie(await app.inject({ method: 'GET', url: '/private' }), 'webiso_app_logins') ?? '';
    assert.match(line, /Max-Age=60; Path=\/; HttpOnly; SameSite=Lax$/);
  });
});
