import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { fakeClock, machineGrant, makeKey, randomSid, userGrant, type TestKey } from './helpers.ts';
import {
  NONCE_COOKIE,
  SESSION_COOKIE,
  buildApp,
  cookieValue,
  getWith,
  isCleared,
  logIn,
  postCallback,
  setCookie,
  startLogin,
  whoIsLoggedIn,
} from './plugin-harness.ts';

let key: TestKey;
before(async () => {
  key = await makeKey('EdDSA', 'kiosk-key');
});

const KIOSK = 'machine:kiosk-1.lib.example.edu';

describe('kiosk: a machine identity where a person is required', () => {
  it('is let through where the route allows machines', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const kiosk = await logIn(app, key, clock, { path: '/kiosk', kind: 'machine' });
    const res = await getWith(app, '/kiosk', kiosk);
    assert.equal(res.statusCode, 200);
    assert.equal(await whoIsLoggedIn(app, kiosk), KIOSK);
  });

  it('goes straight to a forced personal login in one step, ending the machine app session', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const kiosk = await logIn(app, key, clock, { path: '/kiosk', kind: 'machine' });
    const res = await getWith(app, '/private?page=2', kiosk);
    assert.equal(res.statusCode, 302, 'no 403 page in between');
    const location = new URL(String(res.headers.location));
    assert.equal(location.searchParams.get('flavor'), 'basic');
    assert.equal(location.searchParams.get('force'), '1');
    assert.ok(isCleared(setCookie(res, SESSION_COOKIE)), 'the machine app session ends first');
    assert.doesNotMatch(res.body, /machine_not_allowed/);

    // The person signs in; the app holds their session, forced, and they land where they wanted.
    const grant = await userGrant(key, location.searchParams.get('nonce') ?? '', { sub: 'bob' }, clock.now() / 1000);
    const callback = await postCallback(app, { grant }, { [NONCE_COOKIE]: cookieValue(res, NONCE_COOKIE) });
    assert.equal(callback.statusCode, 303, callback.body);
    assert.equal(callback.headers.location, '/private?page=2');
    const person = cookieValue(callback, SESSION_COOKIE);
    assert.equal(await whoIsLoggedIn(app, person), 'bob');
    assert.equal((await getWith(app, '/strict', person)).statusCode, 200, 'the session counts as a forced login');
  });

  it('asks for a person (basic), not the kiosk again, on a machineoruser route that refuses machines', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const kiosk = await logIn(app, key, clock, { path: '/kiosk', kind: 'machine' });
    const res = await getWith(app, '/people-at-kiosks', kiosk);
    assert.equal(res.statusCode, 302);
    const location = new URL(String(res.headers.location));
    assert.equal(location.searchParams.get('flavor'), 'basic');
    assert.equal(location.searchParams.get('force'), '1');
  });

  it('keeps getcred for a getcred route, forced', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const kiosk = await logIn(app, key, clock, { path: '/kiosk', kind: 'machine' });
    const location = new URL(String((await getWith(app, '/mail', kiosk)).headers.location));
    assert.equal(location.searchParams.get('flavor'), 'getcred');
    assert.equal(location.searchParams.get('target'), 'imap.example.edu');
    assert.equal(location.searchParams.get('force'), '1');
  });

  it('explains on a readable page, without a raw error code, when a redirect is impossible (a POST)', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const kiosk = await logIn(app, key, clock, { path: '/kiosk', kind: 'machine' });
    const res = await app.inject({ method: 'POST', url: '/private', cookies: { [SESSION_COOKIE]: kiosk } });
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /This page needs a personal login/);
    assert.match(res.body, /kiosk kiosk-1\.lib\.example\.edu/);
    assert.doesNotMatch(res.body, /Error code|machine_not_allowed/);
    assert.match(res.body, /color-scheme:light dark/, "styled like webiso's pages");
    assert.ok(isCleared(setCookie(res, SESSION_COOKIE)));
  });

  it('on a passive route the kiosk is simply not a person: no forced login, machine session kept', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const kiosk = await logIn(app, key, clock, { path: '/kiosk', kind: 'machine' });
    const res = await getWith(app, '/maybe', kiosk);
    assert.equal(res.statusCode, 302);
    const location = new URL(String(res.headers.location));
    assert.equal(location.searchParams.get('passive'), '1', 'a silent login, as for anyone anonymous');
    assert.equal(location.searchParams.get('force'), null);
    assert.equal(setCookie(res, SESSION_COOKIE), undefined);
    const marker = { '__Host-webiso_app_passive': '1', [SESSION_COOKIE]: kiosk };
    const again = await app.inject({ method: 'GET', url: '/maybe', cookies: marker });
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json(), { webiso: null });
  });
});

describe('kiosk: a new identity replaces the old app session', () => {
  it("a machine identity replaces a patron's session, whose cookie can never come back", async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const patronSid = randomSid();
    const patron = await logIn(app, key, clock, { claims: { sid: patronSid, sub: 'bob' } });
    clock.advance(60);
    // A kiosk login completes in the browser that still holds bob's cookie.
    const login = await startLogin(app, '/kiosk');
    const grant = await machineGrant(key, login.nonce, { sid: randomSid() }, clock.now() / 1000);
    const res = await postCallback(app, { grant }, { [NONCE_COOKIE]: login.state, [SESSION_COOKIE]: patron });
    assert.equal(res.statusCode, 303, res.body);
    const machine = cookieValue(res, SESSION_COOKIE);
    assert.equal(await whoIsLoggedIn(app, machine), KIOSK);
    const decoded = JSON.parse(Buffer.from(machine.split('.')[0] ?? '', 'base64url').toString()) as { identity: Record<string, unknown> };
    assert.equal(decoded.identity.username, undefined, 'nothing of bob in the new cookie');

    clock.advance(1);
    assert.equal(await whoIsLoggedIn(app, patron), null, "a copy of bob's old cookie is dead");
    // bob's webiso session may live on: a later login from it opens a new app session.
    clock.advance(1);
    const again = await logIn(app, key, clock, { claims: { sid: patronSid, sub: 'bob' } });
    assert.equal(await whoIsLoggedIn(app, again), 'bob');
  });

  it('a step-up login from the same webiso session does not end the one it replaces', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const sid = randomSid();
    const basic = await logIn(app, key, clock, { claims: { sid } });
    clock.advance(30);
    const mail = await logIn(app, key, clock, {
      path: '/mail',
      session: basic,
      claims: { sid, flavor: 'getcred', target: 'imap.example.edu', creds_hash: 'aGFzaA' },
    });
    assert.equal((await getWith(app, '/mail', mail)).statusCode, 200);
    assert.equal(await whoIsLoggedIn(app, basic), 'alice', 'same sid: nothing ended');
  });
});
