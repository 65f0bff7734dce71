import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { webisoAuth } from '../../src/client/index.ts';
import { createLoginStateCodec } from '../../src/client/login-state.ts';
import { APP_ID, ISSUER, fakeClock, localJwks, makeKey, userGrant, type TestKey } from './helpers.ts';
import {
  NONCE_COOKIE,
  PUBLIC_URL,
  SECRET,
  SESSION_COOKIE,
  buildApp as buildAppWith,
  cookieValue,
  getWith,
  isCleared,
  logIn as logInWith,
  postCallback,
  setCookie,
  startLogin,
  type Clock,
  type LogInOptions,
} from './plugin-harness.ts';

let key: TestKey;
before(async () => {
  key = await makeKey('EdDSA', 'plugin-key');
});

const buildApp = (clock: Clock, extra: Parameters<typeof buildAppWith>[2] = {}) => buildAppWith(key, clock, extra);
const logIn = (app: Awaited<ReturnType<typeof buildApp>>, clock: Clock, options: LogInOptions = {}) => logInWith(app, key, clock, options);

describe('webisoAuth: starting a login', () => {
  it('redirects an anonymous request to webiso with a nonce cookie', async () => {
    const app = await buildApp(fakeClock());
    const res = await app.inject({ method: 'GET', url: '/private?x=1' });
    assert.equal(res.statusCode, 302);
    const location = new URL(String(res.headers.location));
    assert.equal(location.origin + location.pathname, `${ISSUER}/login`);
    assert.equal(location.searchParams.get('appid'), APP_ID);
    assert.equal(location.searchParams.get('return'), `${PUBLIC_URL}/webiso/callback`);
    assert.equal(location.searchParams.get('flavor'), 'basic');
    assert.match(location.searchParams.get('nonce') ?? '', /^[A-Za-z0-9_-]{22,128}$/);
    const cookie = setCookie(res, NONCE_COOKIE) ?? '';
    for (const attribute of [/HttpOnly/, /Secure/, /SameSite=None/, /Max-Age=600/, /Path=\//]) assert.match(cookie, attribute);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('answers 401, not a redirect, for an anonymous POST', async () => {
    const app = await buildApp(fakeClock());
    const res = await app.inject({ method: 'POST', url: '/private' });
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /login_required/);
  });

  it('lets public routes through with request.webiso === null', async () => {
    const app = await buildApp(fakeClock());
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.deepEqual(res.json(), { webiso: null });
  });
});

describe('webisoAuth: the callback', () => {
  it('sets the session cookie and 303s to the original path', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const login = await startLogin(app, '/private?x=1');
    const grant = await userGrant(key, login.nonce, {}, clock.now() / 1000);
    const res = await postCallback(app, { grant }, { [NONCE_COOKIE]: login.state });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/private?x=1');
    const session = setCookie(res, SESSION_COOKIE) ?? '';
    for (const attribute of [/HttpOnly/, /Secure/, /SameSite=Lax/, /Path=\//]) assert.match(session, attribute);
    assert.ok(isCleared(setCookie(res, NONCE_COOKIE)), 'nonce cookie is cleared');

    const page = await getWith(app, '/private?x=1', cookieValue(res, SESSION_COOKIE));
    assert.equal(page.statusCode, 200);
    const body = page.json() as { webiso: { kind: string; username: string; flavor: string } };
    assert.equal(body.webiso.kind, 'user');
    assert.equal(body.webiso.username, 'alice');
    assert.equal(page.headers['cache-control'], 'no-store');
  });

  it('shows an error page, not a redirect, without the nonce cookie', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const login = await startLogin(app, '/private');
    const grant = await userGrant(key, login.nonce, {}, clock.now() / 1000);
    const res = await postCallback(app, { grant });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers.location, undefined);
    assert.match(res.body, /login_state_missing/);
    assert.equal(setCookie(res, SESSION_COOKIE), undefined);
  });

  it('refuses a login state older than 10 minutes', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const login = await startLogin(app, '/private');
    clock.advance(601);
    const grant = await userGrant(key, login.nonce, {}, clock.now() / 1000);
    const res = await postCallback(app, { grant }, { [NONCE_COOKIE]: login.state });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /login_state_missing/);
  });

  it('names the grant error on a 401 page (nonce mismatch, replay)', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const login = await startLogin(app, '/private');
    const wrong = await userGrant(key, 'another-nonce', {}, clock.now() / 1000);
    const mismatch = await postCallback(app, { grant: wrong }, { [NONCE_COOKIE]: login.state });
    assert.equal(mismatch.statusCode, 401);
    assert.match(mismatch.body, /grant_nonce_mismatch/);
    assert.equal(mismatch.headers.location, undefined);

    const good = await userGrant(key, login.nonce, {}, clock.now() / 1000);
    assert.equal((await postCallback(app, { grant: good }, { [NONCE_COOKIE]: login.state })).statusCode, 303);
    const replay = await postCallback(app, { grant: good }, { [NONCE_COOKIE]: login.state });
    assert.equal(replay.statusCode, 401);
    assert.match(replay.body, /grant_replayed/);
  });

  it('escapes webiso error fields on the error page', async () => {
    const app = await buildApp(fakeClock());
    const login = await startLogin(app, '/private');
    const res = await postCallback(
      app,
      { error: 'access_denied', error_description: '<script>alert(1)</script>' },
      { [NONCE_COOKIE]: login.state },
    );
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /login_error: access_denied/);
    assert.ok(!res.body.includes('<script>'));
    assert.match(res.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  });

  it('answers 503 for temporarily_unavailable', async () => {
    const app = await buildApp(fakeClock());
    const login = await startLogin(app, '/private');
    const res = await postCallback(app, { error: 'temporarily_unavailable' }, { [NONCE_COOKIE]: login.state });
    assert.equal(res.statusCode, 503);
  });

  it('refuses an open redirect smuggled into the stored path', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const codec = createLoginStateCodec(SECRET);
    for (const path of ['//evil.example/', '/\\evil.example', 'https://evil.example/']) {
      const nonce = 'forged-state-nonce';
      const state = codec.seal({ v: 1, nonce, path, flavor: 'basic', passive: false, force: false, created: clock.now() });
      const grant = await userGrant(key, nonce, {}, clock.now() / 1000);
      const res = await postCallback(app, { grant }, { [NONCE_COOKIE]: state });
      assert.equal(res.statusCode, 400, path);
      assert.equal(res.headers.location, undefined, path);
    }
  });

  it('never stores a non-local path from the request URL', async () => {
    // A catch-all route sees the raw request target, which can be protocol-relative.
    const clock = fakeClock();
    const app = Fastify();
    await app.register(webisoAuth, { issuer: ISSUER, appId: APP_ID, publicUrl: PUBLIC_URL, cookieSecret: SECRET, jwks: localJwks(key), now: clock.now });
    app.get('/*', { preHandler: app.webisoRequire() }, async () => 'ok');
    const res = await app.inject({ method: 'GET', url: '//evil.example/x' });
    assert.equal(res.statusCode, 302);
    const state = createLoginStateCodec(SECRET).open(cookieValue(res, NONCE_COOKIE), clock.now());
    assert.equal(state?.path, '/');
  });
});

describe('webisoAuth: the app session', () => {
  it('treats a tampered session cookie as no session', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const session = await logIn(app, clock);
    const [body = '', mac = ''] = session.split('.');
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString()) as { identity: { username: string } };
    decoded.identity.username = 'root';
    const forged = `${Buffer.from(JSON.stringify(decoded)).toString('base64url')}.${mac}`;
    const res = await getWith(app, '/private', forged);
    assert.equal(res.statusCode, 302);
    assert.ok(isCleared(setCookie(res, SESSION_COOKIE)));
    assert.deepEqual((await getWith(app, '/', forged)).json(), { webiso: null });
  });

  it('expires after the idle timeout, and activity (refreshed at most once a minute) extends it', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const original = await logIn(app, clock);

    clock.advance(30);
    const quiet = await getWith(app, '/private', original);
    assert.equal(quiet.statusCode, 200);
    assert.equal(setCookie(quiet, SESSION_COOKIE), undefined, 'no rewrite within the first minute');

    clock.advance(1000 - 30);
    const active = await getWith(app, '/private', original);
    assert.equal(active.statusCode, 200);
    const refreshed = cookieValue(active, SESSION_COOKIE);

    clock.advance(1500); // 2500 s after login, 1500 s after the last activity
    assert.equal((await getWith(app, '/private', refreshed)).statusCode, 200);
    assert.equal((await getWith(app, '/private', original)).statusCode, 302, 'the stale cookie is idle-expired');
  });

  it('expires at the hard limit however active the user is', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    let session = await logIn(app, clock);
    for (let elapsed = 0; elapsed + 1500 < 28800; elapsed += 1500) {
      clock.advance(1500);
      const res = await getWith(app, '/private', session);
      assert.equal(res.statusCode, 200, `at ${elapsed + 1500} s`);
      session = cookieValue(res, SESSION_COOKIE);
    }
    clock.advance(28801 - 19 * 1500);
    assert.equal((await getWith(app, '/private', session)).statusCode, 302);
  });

  it('getcred: passes target, checks it, and hands creds to the onCreds hook', async () => {
    const clock = fakeClock();
    const received: string[] = [];
    const app = await buildApp(clock, { onCreds: ({ creds }) => void received.push(creds) });
    const login = await startLogin(app, '/mail');
    assert.equal(login.location.searchParams.get('flavor'), 'getcred');
    assert.equal(login.location.searchParams.get('target'), 'imap.example.edu');
    const claims = { flavor: 'getcred', target: 'imap.example.edu', creds_hash: 'aGFzaA' };
    const wrongTarget = await userGrant(key, login.nonce, { ...claims, target: 'ldap.example.edu' }, clock.now() / 1000);
    const refused = await postCallback(app, { grant: wrongTarget, creds: 'jwe' }, { [NONCE_COOKIE]: login.state });
    assert.equal(refused.statusCode, 401);
    const grant = await userGrant(key, login.nonce, claims, clock.now() / 1000);
    const res = await postCallback(app, { grant, creds: 'a.b.c.d.e' }, { [NONCE_COOKIE]: login.state });
    assert.equal(res.statusCode, 303);
    assert.deepEqual(received, ['a.b.c.d.e']);
    assert.equal((await getWith(app, '/mail', cookieValue(res, SESSION_COOKIE))).statusCode, 200);
  });

  it('a force route wants a session from a forced login', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const sso = await logIn(app, clock, { path: '/private' });
    const res = await getWith(app, '/strict', sso);
    assert.equal(res.statusCode, 302);
    assert.equal(new URL(String(res.headers.location)).searchParams.get('force'), '1');
    const forced = await logIn(app, clock, { path: '/strict' });
    assert.equal((await getWith(app, '/strict', forced)).statusCode, 200);
  });

  it('passive: login_required means anonymous, without a redirect loop', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const login = await startLogin(app, '/maybe');
    assert.equal(login.location.searchParams.get('passive'), '1');
    const res = await postCallback(app, { error: 'login_required' }, { [NONCE_COOKIE]: login.state });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/maybe');
    const marker = cookieValue(res, '__Host-webiso_app_passive');
    const again = await app.inject({ method: 'GET', url: '/maybe', cookies: { '__Host-webiso_app_passive': marker } });
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json(), { webiso: null });
  });

  it('login_required on a non-passive login is an error page', async () => {
    const app = await buildApp(fakeClock());
    const login = await startLogin(app, '/private');
    const res = await postCallback(app, { error: 'login_required' }, { [NONCE_COOKIE]: login.state });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers.location, undefined);
  });

  it('logs out with a same-origin POST, refuses a cross-site one', async () => {
    const clock = fakeClock();
    const app = await buildApp(clock);
    const session = await logIn(app, clock);
    const crossSite = await app.inject({
      method: 'POST',
      url: '/webiso/logout',
      headers: { origin: 'https://evil.example' },
      cookies: { [SESSION_COOKIE]: session },
    });
    assert.equal(crossSite.statusCode, 403);
    const res = await app.inject({ method: 'POST', url: '/webiso/logout', headers: { origin: PUBLIC_URL }, cookies: { [SESSION_COOKIE]: session } });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/');
    assert.ok(isCleared(setCookie(res, SESSION_COOKIE)));
  });
});

describe('webisoAuth: secureCookies false', () => {
  it('drops the __Host- prefix and Secure', async () => {
    const app = await buildApp(fakeClock(), { secureCookies: false });
    const res = await app.inject({ method: 'GET', url: '/private' });
    const line = setCookie(res, 'webiso_app_nonce') ?? '';
    assert.ok(line !== '');
    assert.doesNotMatch(line, /Secure/);
    assert.match(line, /SameSite=Lax/);
  });

  it('refuses a short cookie secret', async () => {
    const app = Fastify();
    await assert.rejects(
      (async () => {
        await app.register(webisoAuth, { issuer: ISSUER, appId: APP_ID, publicUrl: PUBLIC_URL, cookieSecret: 'short', jwks: localJwks(key) });
        await app.ready();
      })(),
      /32 bytes/,
    );
  });
});
