import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import {
  createMemoryEndedSessionStore,
  createMemoryReplayStore,
  type EndedSessionStore,
  type LogoutEvent,
} from '../../src/client/index.ts';
import { fakeClock, machineLogoutClaims, makeKey, randomSid, signGrant, signLogoutToken, userClaims, userLogoutToken, type TestKey } from './helpers.ts';
import {
  NONCE_COOKIE,
  SESSION_COOKIE,
  buildApp,
  getWith,
  isCleared,
  logIn,
  postCallback,
  postLogoutToken,
  setCookie,
  startLogin,
  whoIsLoggedIn,
} from './plugin-harness.ts';

let key: TestKey;
before(async () => {
  key = await makeKey('EdDSA', 'backchannel-key');
});

const nowSeconds = (clock: ReturnType<typeof fakeClock>): number => clock.now() / 1000;

describe('POST /webiso/backchannel-logout', () => {
  it('ends exactly the app sessions with the token sid, on their next request', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const [aliceSid, bobSid] = [randomSid(), randomSid()];
    const alice = await logIn(app, key, clock, { claims: { sid: aliceSid } });
    const aliceOtherTab = await logIn(app, key, clock, { claims: { sid: aliceSid } });
    const bob = await logIn(app, key, clock, { claims: { sid: bobSid, sub: 'bob' } });
    clock.advance(10);

    const res = await postLogoutToken(app, await userLogoutToken(key, aliceSid, {}, nowSeconds(clock)));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.body, '');

    for (const session of [alice, aliceOtherTab]) {
      const home = await getWith(app, '/', session);
      assert.deepEqual(home.json(), { webiso: null });
      assert.ok(isCleared(setCookie(home, SESSION_COOKIE)), 'the ended session cookie is cleared');
      const page = await getWith(app, '/private', session);
      assert.equal(page.statusCode, 302, 'sent to log in again');
    }
    assert.equal(await whoIsLoggedIn(app, bob), 'bob');
    assert.equal((await getWith(app, '/private', bob)).statusCode, 200);
  });

  it('ends a kiosk machine session named by a machine logout token', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const machineSid = randomSid();
    const kiosk = await logIn(app, key, clock, { path: '/kiosk', kind: 'machine', claims: { sid: machineSid } });
    assert.equal(await whoIsLoggedIn(app, kiosk), 'machine:kiosk-1.lib.example.edu');
    const res = await postLogoutToken(app, await signLogoutToken(key, machineLogoutClaims(machineSid, nowSeconds(clock))));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(await whoIsLoggedIn(app, kiosk), null);
  });

  it('refuses a bad token with 400 invalid_request JSON and ends nothing', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const sid = randomSid();
    const session = await logIn(app, key, clock, { claims: { sid } });
    const res = await postLogoutToken(app, await userLogoutToken(key, sid, { aud: 'another-app' }, nowSeconds(clock)));
    assert.equal(res.statusCode, 400);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(res.json(), { error: 'invalid_request', error_description: 'logout_token_wrong_audience' });
    assert.equal(await whoIsLoggedIn(app, session), 'alice');
  });

  it('a replayed token is refused with 400 logout_token_replayed; of concurrent copies exactly one wins', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const token = await userLogoutToken(key, randomSid(), {}, nowSeconds(clock));
    assert.equal((await postLogoutToken(app, token)).statusCode, 200);
    const replay = await postLogoutToken(app, token);
    assert.equal(replay.statusCode, 400);
    assert.equal((replay.json() as { error_description: string }).error_description, 'logout_token_replayed');

    const fresh = await userLogoutToken(key, randomSid(), {}, nowSeconds(clock));
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => postLogoutToken(app, fresh)))).map((r) => r.statusCode);
    assert.deepEqual(statuses.sort(), [200, ...Array<number>(9).fill(400)]);
  });

  it('answers 400, never 500, to bodies that are not one form field', async () => {
    const app = await buildApp(key, fakeClock());
    const post = (payload: string, contentType: string) =>
      app.inject({ method: 'POST', url: '/webiso/backchannel-logout', headers: { 'content-type': contentType }, payload });
    const form = 'application/x-www-form-urlencoded';
    const cases: Array<[string, string, string]> = [
      ['', form, 'logout_token_missing'],
      ['logout_token=a&logout_token=b', form, 'logout_token_malformed'],
      ['logout_token=' + 'a'.repeat(20_000), form, 'FST_ERR_CTP_BODY_TOO_LARGE'],
      [JSON.stringify({ logout_token: 'x.y.z' }), 'application/json', 'the body must be application/x-www-form-urlencoded'],
      ['{not json', 'application/json', 'FST_ERR_CTP_INVALID_JSON_BODY'],
      ['logout_token=x', 'application/octet-stream', 'FST_ERR_CTP_INVALID_MEDIA_TYPE'],
    ];
    for (const [payload, contentType, description] of cases) {
      const res = await post(payload, contentType);
      assert.equal(res.statusCode, 400, `${contentType} ${payload.slice(0, 40)}`);
      assert.deepEqual(res.json(), { error: 'invalid_request', error_description: description });
    }
  });

  it('refuses a login whose grant comes from a webiso session that already ended', async () => {
    // The grant was minted just before the logout and posted just after it.
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const sid = randomSid();
    const login = await startLogin(app, '/private');
    const grant = await signGrant(key, { ...userClaims(login.nonce, nowSeconds(clock)), sid });
    assert.equal((await postLogoutToken(app, await userLogoutToken(key, sid, {}, nowSeconds(clock)))).statusCode, 200);
    clock.advance(5);
    const res = await postCallback(app, { grant }, { [NONCE_COOKIE]: login.state });
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /Your webiso session has ended/);
    assert.equal(setCookie(res, SESSION_COOKIE), undefined);
  });

  it('cannot end a session from an older webiso that sent no sid', async () => {
    const clock = fakeClock();
    const app = await buildApp(key, clock);
    const legacy = await logIn(app, key, clock, { claims: { sid: undefined } });
    assert.equal((await postLogoutToken(app, await userLogoutToken(key, randomSid(), {}, nowSeconds(clock)))).statusCode, 200);
    assert.equal(await whoIsLoggedIn(app, legacy), 'alice');
  });
});

describe('back-channel logout: options and stores', () => {
  it('hands the verified event to onBackchannelLogout, and answers 503 when the hook fails', async () => {
    const clock = fakeClock();
    const seen: LogoutEvent[] = [];
    let failing = false;
    const app = await buildApp(key, clock, {
      onBackchannelLogout: ({ logout }) => {
        if (failing) throw new Error('session table locked');
        seen.push(logout);
      },
    });
    const sid = randomSid();
    assert.equal((await postLogoutToken(app, await userLogoutToken(key, sid, {}, nowSeconds(clock)))).statusCode, 200);
    assert.deepEqual(seen.map((event) => [event.kind, event.sid]), [['user', sid]]);
    failing = true;
    const res = await postLogoutToken(app, await userLogoutToken(key, sid, {}, nowSeconds(clock)));
    assert.equal(res.statusCode, 503, 'webiso retries later');
    assert.equal((res.json() as { error: string }).error, 'temporarily_unavailable');
  });

  it('ends the session on every app instance that shares the stores', async () => {
    const clock = fakeClock();
    const shared = { endedSessionStore: createMemoryEndedSessionStore({ now: clock.now }), replayStore: createMemoryReplayStore({ now: clock.now }) };
    const [first, second] = [await buildApp(key, clock, shared), await buildApp(key, clock, shared)];
    const sid = randomSid();
    const session = await logIn(first, key, clock, { claims: { sid } });
    assert.equal(await whoIsLoggedIn(second, session), 'alice', 'the cookie works on either instance');
    assert.equal((await postLogoutToken(first, await userLogoutToken(key, sid, {}, nowSeconds(clock)))).statusCode, 200);
    assert.equal(await whoIsLoggedIn(second, session), null);
  });

  it('fails closed when the ended-session store is down: anonymous, 503 on protected pages, cookie kept', async () => {
    const clock = fakeClock();
    let down = false;
    const inner = createMemoryEndedSessionStore({ now: clock.now });
    const flaky: EndedSessionStore = {
      end: (sid, endedAt, forgetAt) => (down ? Promise.reject(new Error('redis down')) : inner.end(sid, endedAt, forgetAt)),
      endedAt: (sid) => (down ? Promise.reject(new Error('redis down')) : inner.endedAt(sid)),
    };
    const app = await buildApp(key, clock, { endedSessionStore: flaky });
    const session = await logIn(app, key, clock, { claims: { sid: randomSid() } });
    down = true;
    const home = await getWith(app, '/', session);
    assert.deepEqual(home.json(), { webiso: null });
    assert.equal(setCookie(home, SESSION_COOKIE), undefined, 'the cookie is not destroyed by an outage');
    const page = await getWith(app, '/private', session);
    assert.equal(page.statusCode, 503);
    assert.match(page.body, /session_store_unavailable/);
    const logout = await postLogoutToken(app, await userLogoutToken(key, randomSid(), {}, nowSeconds(clock)));
    assert.equal(logout.statusCode, 503);
    down = false;
    assert.equal(await whoIsLoggedIn(app, session), 'alice');
  });

  it('answers 503 when webiso keys cannot be fetched, so webiso retries', async () => {
    const app = await buildApp(key, fakeClock(), { jwks: () => Promise.reject(new Error('connection refused')) });
    const res = await postLogoutToken(app, await userLogoutToken(key, randomSid()));
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { error: 'temporarily_unavailable', error_description: 'jwks_unavailable' });
  });

  it('serves a configured path, or none with backchannelLogoutPath: false', async () => {
    const clock = fakeClock();
    const custom = await buildApp(key, clock, { backchannelLogoutPath: '/auth/bcl' });
    assert.equal((await postLogoutToken(custom, await userLogoutToken(key, randomSid()), '/auth/bcl')).statusCode, 200);
    assert.equal((await postLogoutToken(custom, await userLogoutToken(key, randomSid()))).statusCode, 404);
    const off = await buildApp(key, clock, { backchannelLogoutPath: false });
    assert.equal((await postLogoutToken(off, await userLogoutToken(key, randomSid()))).statusCode, 404);
  });
});
