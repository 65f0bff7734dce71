import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hash as argon2Hash } from '@node-rs/argon2';
import { base64url, createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { hashSessionId } from '../../src/db/sessions.ts';
import { GENERIC_LOGIN_FAILURE } from '../../src/login/routes.ts';
import {
  ALICE_PASSWORD,
  APP_RETURN,
  attemptLogin,
  auditEvents,
  CookieJar,
  countRows,
  createTestApp,
  CSRF_COOKIE_NAME,
  fakeClock,
  formActions,
  getLoginForm,
  grantOf,
  hiddenField,
  HTML,
  ISSUER,
  loginQuery,
  postForm,
  setCookieLines,
  SSO_COOKIE_NAME,
  testConfig,
  verifyGrantWithJwks,
} from '../support/webiso.ts';

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Asks for a grant with the browser's cookies (the SSO path); returns the response. */
async function requestGrant(app: FastifyInstance, jar: CookieJar, query: Record<string, string> = {}) {
  const response = await app.inject({ method: 'GET', url: `/login?${loginQuery(query)}`, headers: { ...HTML, ...jar.header() } });
  jar.store(response);
  return response;
}

function assertPrompted(response: LightMyRequestResponse, message = 'expected the login form') {
  assert.equal(response.statusCode, 200, message);
  assert.ok(hiddenField(response.body, 'ctx'), message);
  assert.equal(grantOf(response.body), undefined, message);
}

function assertGranted(response: LightMyRequestResponse, returnUrl = APP_RETURN): string {
  assert.equal(response.statusCode, 200, response.body.slice(0, 500));
  assert.deepEqual(formActions(response.body), [returnUrl]);
  const grant = grantOf(response.body);
  assert.ok(grant, 'expected a grant field');
  return grant;
}

function sessionCookieSet(response: LightMyRequestResponse): boolean {
  return setCookieLines(response).some((line) => line.startsWith(`${SSO_COOKIE_NAME}=`) && !line.startsWith(`${SSO_COOKIE_NAME}=;`));
}

/** A login page minus the values that differ per request (nonces, signed context, CSRF token, echoed username). */
function normalisePage(html: string): string {
  return html
    .replace(/nonce="[^"]*"/g, 'nonce=""')
    .replace(/name="(ctx|csrf)" value="[^"]*"/g, 'name="$1" value=""')
    .replace(/(name="username" value=")[^"]*"/g, '$1"');
}

describe('granting request, login form, grant', () => {
  it('shows the login form with a signed context and a CSRF token, and sets no session', async () => {
    const t = await createTestApp();
    try {
      const { response, ctx, csrf } = await getLoginForm(t.app, new CookieJar());
      assert.equal(response.statusCode, 200);
      assert.ok(ctx && ctx.includes('.'), 'signed context');
      assert.ok(csrf && csrf.length >= 32, 'CSRF token');
      assert.deepEqual(formActions(response.body), ['/login']);
      assert.match(response.body, /<input type="password" id="password" name="password"/);
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(sessionCookieSet(response), false);
      assert.equal(await countRows(t.app, 'sessions'), 0);
    } finally {
      await t.close();
    }
  });

  it('a correct password yields a grant, posted to the return URL, that verifies with only the JWKS', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const { response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const grant = assertGranted(response);
      assert.ok(sessionCookieSet(response));
      assert.equal(hiddenField(response.body, 'error'), undefined);
      // auto-submits, with a Continue button for browsers without JavaScript
      assert.match(response.body, /<script nonce="[^"]+">document\.getElementById\('post-to-app'\)\.submit\(\);<\/script>/);
      assert.match(response.body, /<button type="submit" id="continue">Continue<\/button>/);

      const { payload, protectedHeader } = await verifyGrantWithJwks(t.app, grant, { now: clock.now() });
      const now = seconds(clock.now());
      assert.deepEqual(Object.keys(protectedHeader).sort(), ['alg', 'kid', 'typ']);
      assert.equal(protectedHeader.alg, 'EdDSA');
      assert.equal(protectedHeader.typ, 'webiso-grant+jwt');
      const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet;
      assert.ok(jwks.keys.some((key) => key.kid === protectedHeader.kid));
      for (const key of jwks.keys) assert.equal((key as Record<string, unknown>).d, undefined, 'no private key material in the JWKS');

      assert.deepEqual(Object.keys(payload).sort(), ['amr', 'aud', 'auth_time', 'exp', 'flavor', 'iat', 'iss', 'jti', 'kind', 'nonce', 'sid', 'sub']);
      assert.equal(payload.sid, (await t.app.webiso.store.db.selectFrom('sessions').select('sid').executeTakeFirst())?.sid, 'the grant names its SSO session');
      assert.equal(payload.iss, ISSUER);
      assert.equal(payload.aud, 'app');
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.kind, 'user');
      assert.equal(payload.flavor, 'basic');
      assert.equal(payload.nonce, 'nonce-123');
      assert.equal(payload.iat, now);
      assert.equal(payload.exp, now + 60);
      assert.equal(payload.auth_time, now);
      assert.deepEqual(payload.amr, ['pwd']);
      assert.equal(typeof payload.jti, 'string');
      assert.match(payload.jti!, /^[A-Za-z0-9_-]+$/);
      assert.ok(base64url.decode(payload.jti!).length * 8 >= 128, 'jti carries at least 128 random bits');
    } finally {
      await t.close();
    }
  });

  it('two grants never share a jti', async () => {
    // 21 grants in a second for one session is a loop to the breaker: off for this count
    const t = await createTestApp({ config: testConfig({ loopGuard: { maxAnswers: 0 } }) });
    try {
      const { response, jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const jtis = new Set<string>();
      const first = await verifyGrantWithJwks(t.app, assertGranted(response), { now: Date.now() });
      jtis.add(first.payload.jti!);
      for (let i = 0; i < 20; i += 1) {
        const { payload } = await verifyGrantWithJwks(t.app, assertGranted(await requestGrant(t.app, jar)), { now: Date.now() });
        jtis.add(payload.jti!);
      }
      assert.equal(jtis.size, 21);
    } finally {
      await t.close();
    }
  });

  it('a grant is refused by a pinned verifier when audience, issuer, type, time, signature or algorithm is wrong', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const grant = assertGranted((await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD })).response);
      const jwks = createLocalJWKSet((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet);
      const options = { algorithms: ['EdDSA'], issuer: ISSUER, audience: 'app', typ: 'webiso-grant+jwt', currentDate: new Date(clock.now()) };
      await jwtVerify(grant, jwks, options); // the control: correct options verify

      await assert.rejects(jwtVerify(grant, jwks, { ...options, audience: 'other' }), joseErrors.JWTClaimValidationFailed);
      await assert.rejects(jwtVerify(grant, jwks, { ...options, issuer: 'https://evil.test' }), joseErrors.JWTClaimValidationFailed);
      await assert.rejects(jwtVerify(grant, jwks, { ...options, typ: 'JWT' }), joseErrors.JWTClaimValidationFailed);
      await assert.rejects(jwtVerify(grant, jwks, { ...options, currentDate: new Date(clock.now() + 61_000) }), joseErrors.JWTExpired);
      await assert.rejects(jwtVerify(grant, jwks, { ...options, algorithms: ['ES256'] }), joseErrors.JOSEAlgNotAllowed);

      const [header, body, signature] = grant.split('.') as [string, string, string];
      const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
      await assert.rejects(jwtVerify(`${header}.${body}.${flipped}`, jwks, options), joseErrors.JWSSignatureVerificationFailed);

      const forgedBody = base64url.encode(JSON.stringify({ ...(JSON.parse(new TextDecoder().decode(base64url.decode(body))) as JWTPayload), sub: 'mallory' }));
      await assert.rejects(jwtVerify(`${header}.${forgedBody}.${signature}`, jwks, options), joseErrors.JWSSignatureVerificationFailed);

      const noneHeader = base64url.encode(JSON.stringify({ ...decodeProtectedHeader(grant), alg: 'none' }));
      await assert.rejects(jwtVerify(`${noneHeader}.${body}.`, jwks, options));
      await assert.rejects(jwtVerify(`${noneHeader}.${body}.${signature}`, jwks, options));
    } finally {
      await t.close();
    }
  });

  it('the SSO session answers a second request without a password prompt, keeping auth_time', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const loggedInAt = seconds(clock.now());
      clock.advance(100);
      const response = await requestGrant(t.app, jar, { nonce: 'second-request' });
      assert.doesNotMatch(response.body, /name="password"/);
      const { payload } = await verifyGrantWithJwks(t.app, assertGranted(response), { now: clock.now() });
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.nonce, 'second-request');
      assert.equal(payload.auth_time, loggedInAt);
      assert.equal(payload.iat, loggedInAt + 100);
      assert.deepEqual(payload.amr, ['pwd']);
      assert.equal(sessionCookieSet(response), false, 'SSO does not issue a new session cookie');
      assert.ok((await auditEvents(t.app)).some((row) => row.event === 'login.sso' && row.username === 'alice'));

      // and for another registered app, with its own audience
      const other = await requestGrant(t.app, jar, { appid: 'other', return: 'https://other.example.edu/cb' });
      const otherGrant = await verifyGrantWithJwks(t.app, assertGranted(other, 'https://other.example.edu/cb'), { now: clock.now(), audience: 'other' });
      assert.equal(otherGrant.payload.sub, 'alice');
    } finally {
      await t.close();
    }
  });

  it('force=1 prompts even with a valid session, and the new password entry updates auth_time', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      clock.advance(300);
      const { response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD, jar, query: { force: '1' } });
      const forced = await getLoginForm(t.app, jar, { force: '1' });
      assertPrompted(forced.response);
      assert.match(forced.response.body, /asks you to enter your password again/);
      const { payload } = await verifyGrantWithJwks(t.app, assertGranted(response), { now: clock.now() });
      assert.equal(payload.auth_time, seconds(clock.now()));
    } finally {
      await t.close();
    }
  });

  it('passive=1 without a session posts error=login_required to the app, never a grant', async () => {
    const t = await createTestApp();
    try {
      const response = await requestGrant(t.app, new CookieJar(), { passive: '1' });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(formActions(response.body), [APP_RETURN]);
      assert.equal(hiddenField(response.body, 'error'), 'login_required');
      assert.ok((hiddenField(response.body, 'error_description') ?? '').length > 0);
      assert.equal(grantOf(response.body), undefined);
      assert.doesNotMatch(response.body, /name="grant"/);
      assert.doesNotMatch(response.body, /name="password"/);
      assert.equal(sessionCookieSet(response), false);
    } finally {
      await t.close();
    }
  });

  it('passive=1 with a session grants silently', async () => {
    const t = await createTestApp();
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const { payload } = await verifyGrantWithJwks(t.app, assertGranted(await requestGrant(t.app, jar, { passive: '1' })), { now: Date.now() });
      assert.equal(payload.sub, 'alice');
    } finally {
      await t.close();
    }
  });

  it('accepts the granting request as a POST form as well', async () => {
    const t = await createTestApp();
    try {
      const jar = new CookieJar();
      const response = await postForm(t.app, jar, '/login', { appid: 'app', return: APP_RETURN, flavor: 'basic', nonce: 'posted' });
      assertPrompted(response);
      const ctx = hiddenField(response.body, 'ctx')!;
      const csrf = hiddenField(response.body, 'csrf')!;
      const granted = await postForm(t.app, jar, '/login', { ctx, csrf, username: 'alice', password: ALICE_PASSWORD });
      const { payload } = await verifyGrantWithJwks(t.app, assertGranted(granted), { now: Date.now() });
      assert.equal(payload.nonce, 'posted');
    } finally {
      await t.close();
    }
  });

  it('an empty username or password re-shows the form with 400 and creates no session', async () => {
    const t = await createTestApp();
    try {
      for (const [username, password] of [['', ALICE_PASSWORD], ['alice', ''], ['   ', ALICE_PASSWORD]] as const) {
        const { response } = await attemptLogin(t.app, { username, password });
        assert.equal(response.statusCode, 400);
        assert.ok(hiddenField(response.body, 'ctx'));
        assert.equal(sessionCookieSet(response), false);
      }
      assert.equal(await countRows(t.app, 'sessions'), 0);
    } finally {
      await t.close();
    }
  });
});

describe('refused granting requests: a local 400 page, no redirect anywhere', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['unknown app', { appid: 'nope' }, 'unknown_app'],
    ['malformed app id', { appid: '../app' }, 'unknown_app'],
    ['unregistered return URL', { return: 'https://evil.test/webiso/callback' }, 'return_url_not_registered'],
    ['look-alike return host', { return: 'https://app.example.edu.evil.test/' }, 'return_url_not_registered'],
    ['userinfo return', { return: 'https://app.example.edu@evil.test/webiso/callback' }, 'return_url_not_registered'],
    ['dot-dot return', { return: 'https://app.example.edu/webiso/callback/../../admin' }, 'return_url_not_registered'],
    ['javascript: return', { return: 'javascript:alert(1)' }, 'return_url_not_registered'],
    ['JaVaScRiPt: return', { return: 'JaVaScRiPt:alert(1)//https://app.example.edu/webiso/callback' }, 'return_url_not_registered'],
    ["another app's return URL", { return: 'https://other.example.edu/cb' }, 'return_url_not_registered'],
    ['flavor not allowed for the app', { flavor: 'machineoruser' }, 'flavor_not_allowed'],
    ['unknown flavor', { flavor: 'nope' }, 'invalid_request'],
    ['missing nonce', { nonce: '' }, 'invalid_request'],
    ['oversized nonce', { nonce: 'n'.repeat(129) }, 'invalid_request'],
    ['passive and force together', { passive: '1', force: '1' }, 'invalid_request'],
  ];

  for (const [label, query, code] of cases) {
    it(`${label} → 400 ${code}, even for a logged-in browser`, async () => {
      const t = await createTestApp();
      try {
        const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
        const response = await requestGrant(t.app, jar, query);
        assert.equal(response.statusCode, 400);
        assert.match(String(response.headers['content-type']), /^text\/html/);
        assert.match(response.body, new RegExp(`<code id="error-code">${code}</code>`));
        assert.equal(response.headers.location, undefined);
        assert.deepEqual(formActions(response.body), []);
        assert.doesNotMatch(response.body, /action=/);
        assert.doesNotMatch(response.body, /evil\.test|javascript:/i);
        assert.equal(grantOf(response.body), undefined);
        assert.doesNotMatch(String(response.headers['content-security-policy']), /form-action 'self' /);
        assert.equal(sessionCookieSet(response), false);

        const json = await t.app.inject({ method: 'GET', url: `/login?${loginQuery(query)}`, headers: { accept: 'application/json', ...jar.header() } });
        assert.equal(json.statusCode, 400);
        assert.match(String(json.headers['content-type']), /^application\/json/);
        const body = json.json() as { error: string; error_description: string; request_id: string };
        assert.equal(body.error, code);
        assert.ok(body.error_description.length > 0);
        assert.ok(body.request_id.length > 0);
        assert.equal(json.headers.location, undefined);
      } finally {
        await t.close();
      }
    });
  }

  it('a duplicated parameter is refused (parameter pollution)', async () => {
    const t = await createTestApp();
    try {
      const response = await t.app.inject({ method: 'GET', url: `/login?${loginQuery()}&return=${encodeURIComponent('https://evil.test/')}`, headers: HTML });
      assert.equal(response.statusCode, 400);
      assert.match(response.body, /<code id="error-code">invalid_request<\/code>/);
      assert.deepEqual(formActions(response.body), []);
    } finally {
      await t.close();
    }
  });

  it('a GET carrying a password is refused before anything is checked', async () => {
    const t = await createTestApp();
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      for (const extra of ['password=hunter2-secret', 'username=alice&password=hunter2-secret', 'user=alice&pass=hunter2-secret']) {
        const response = await t.app.inject({ method: 'GET', url: `/login?${loginQuery()}&${extra}`, headers: { ...HTML, ...jar.header() } });
        assert.equal(response.statusCode, 400, extra);
        assert.match(response.body, /<code id="error-code">password_in_url<\/code>/);
        assert.doesNotMatch(response.body, /hunter2/);
        assert.equal(response.headers.location, undefined);
        assert.equal(grantOf(response.body), undefined, 'no SSO grant either');
      }
      // a POST with the password in its query string is refused too
      const form = await getLoginForm(t.app, jar, { force: '1' });
      const posted = await t.app.inject({
        method: 'POST',
        url: '/login?password=hunter2-secret',
        headers: { ...HTML, ...jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ctx: form.ctx!, csrf: form.csrf!, username: 'alice', password: ALICE_PASSWORD }).toString(),
      });
      assert.equal(posted.statusCode, 400);
      assert.equal(grantOf(posted.body), undefined);
    } finally {
      await t.close();
    }
  });
});

describe('CSRF and the signed login context', () => {
  async function refusedWithoutSession(t: { app: FastifyInstance }, response: LightMyRequestResponse, status: number, code: string) {
    assert.equal(response.statusCode, status, response.body.slice(0, 300));
    assert.match(response.body, new RegExp(`<code id="error-code">${code}</code>`));
    assert.equal(sessionCookieSet(response), false);
    assert.equal(grantOf(response.body), undefined);
    assert.equal(await countRows(t.app, 'sessions'), 0);
    assert.equal(await countRows(t.app, 'auth_events', { event: 'login.success' }), 0);
  }

  it('a missing or empty CSRF token → 403, no session', async () => {
    const t = await createTestApp();
    try {
      const jar = new CookieJar();
      const { ctx } = await getLoginForm(t.app, jar);
      await refusedWithoutSession(t, await postForm(t.app, jar, '/login', { ctx: ctx!, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
      await refusedWithoutSession(t, await postForm(t.app, jar, '/login', { ctx: ctx!, csrf: '', username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
    } finally {
      await t.close();
    }
  });

  it("a token from another browser (the attacker's) → 403, no session", async () => {
    const t = await createTestApp();
    try {
      const attacker = new CookieJar();
      const attackerForm = await getLoginForm(t.app, attacker);
      const victim = new CookieJar();
      const victimForm = await getLoginForm(t.app, victim);
      // the attacker's whole form, posted from the victim's browser
      await refusedWithoutSession(t, await postForm(t.app, victim, '/login', { ctx: attackerForm.ctx!, csrf: attackerForm.csrf!, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
      // the attacker's token with the victim's own context
      await refusedWithoutSession(t, await postForm(t.app, victim, '/login', { ctx: victimForm.ctx!, csrf: attackerForm.csrf!, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
      // a victim browser that never saw the form (no CSRF cookie at all)
      await refusedWithoutSession(t, await postForm(t.app, new CookieJar(), '/login', { ctx: attackerForm.ctx!, csrf: attackerForm.csrf!, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
      // a cross-site POST carries the attacker's own cookie value? It cannot: but even a forged cookie needs a matching MAC
      const forged = new CookieJar();
      forged.cookies.set(CSRF_COOKIE_NAME, 'A'.repeat(24));
      await refusedWithoutSession(t, await postForm(t.app, forged, '/login', { ctx: attackerForm.ctx!, csrf: attackerForm.csrf!, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
    } finally {
      await t.close();
    }
  });

  it('an altered CSRF token → 403, no session', async () => {
    const t = await createTestApp();
    try {
      const jar = new CookieJar();
      const { ctx, csrf } = await getLoginForm(t.app, jar);
      const altered = csrf!.slice(0, 5) + (csrf![5] === 'a' ? 'b' : 'a') + csrf!.slice(6);
      await refusedWithoutSession(t, await postForm(t.app, jar, '/login', { ctx: ctx!, csrf: altered, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
      await refusedWithoutSession(t, await postForm(t.app, jar, '/login', { ctx: ctx!, csrf: csrf!.slice(0, -2), username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
      await refusedWithoutSession(t, await postForm(t.app, jar, '/login', { ctx: ctx!, csrf: `${csrf!}AA`, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
      // altered but decoding to the same bytes (a lenient base64 decoder would accept these)
      for (const lenient of [`${csrf!}=`, `${csrf!.slice(0, 8)}!${csrf!.slice(8)}`, `${csrf!.slice(0, 8)} ${csrf!.slice(8)}`]) {
        await refusedWithoutSession(t, await postForm(t.app, jar, '/login', { ctx: ctx!, csrf: lenient, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
      }
    } finally {
      await t.close();
    }
  });

  it("the logout form's token does not work for login (purpose-bound)", async () => {
    const t = await createTestApp();
    try {
      const jar = new CookieJar();
      const { ctx } = await getLoginForm(t.app, jar);
      const logoutPage = await t.app.inject({ method: 'GET', url: '/logout', headers: { ...HTML, ...jar.header() } });
      const logoutCsrf = hiddenField(logoutPage.body, 'csrf')!;
      await refusedWithoutSession(t, await postForm(t.app, jar, '/login', { ctx: ctx!, csrf: logoutCsrf, username: 'alice', password: ALICE_PASSWORD }), 403, 'csrf_invalid');
    } finally {
      await t.close();
    }
  });

  it('a tampered, foreign or expired login context → 400, no session, no redirect', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const jar = new CookieJar();
      const { ctx, csrf } = await getLoginForm(t.app, jar);
      const [body, mac] = ctx!.split('.') as [string, string];

      const flipped = body.slice(0, 20) + (body[20] === 'A' ? 'B' : 'A') + body.slice(21);
      // the editable-granting-request attack: same MAC, return URL swapped for the attacker's
      const decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { r: Record<string, string> };
      decoded.r.return = 'https://evil.test/steal';
      const swapped = Buffer.from(JSON.stringify(decoded)).toString('base64url');
      const otherBrowser = await getLoginForm(t.app, new CookieJar());

      for (const tampered of [`${flipped}.${mac}`, `${swapped}.${mac}`, `${body}.${mac}x`, `${body}`, `${body}.${mac}.extra`, otherBrowser.ctx!, 'x'.repeat(9000)]) {
        const response = await postForm(t.app, jar, '/login', { ctx: tampered, csrf: csrf!, username: 'alice', password: ALICE_PASSWORD });
        await refusedWithoutSession(t, response, 400, 'login_context_invalid');
        assert.deepEqual(formActions(response.body), []);
        assert.doesNotMatch(response.body, /evil\.test/);
        assert.equal(response.headers.location, undefined);
      }

      clock.advance(15 * 60 + 1);
      await refusedWithoutSession(t, await postForm(t.app, jar, '/login', { ctx: ctx!, csrf: csrf!, username: 'alice', password: ALICE_PASSWORD }), 400, 'login_context_invalid');
    } finally {
      await t.close();
    }
  });
});

describe('session fixation', () => {
  it('a planted session cookie is replaced by a fresh random id and stays dead', async () => {
    const t = await createTestApp();
    try {
      const planted = 'planted-by-the-attacker-0123456789abcdefABCDEF';
      const jar = new CookieJar();
      jar.cookies.set(SSO_COOKIE_NAME, planted);
      const { response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD, jar });
      assertGranted(response);
      const issued = jar.cookies.get(SSO_COOKIE_NAME);
      assert.ok(issued && issued !== planted, 'a new session id');
      assert.ok(Buffer.from(issued, 'base64url').length >= 16, 'at least 128 bits');
      assert.equal(await countRows(t.app, 'sessions', { id_hash: hashSessionId(planted) }), 0);
      assert.equal(await countRows(t.app, 'sessions', { id_hash: hashSessionId(issued) }), 1);
      assert.equal(await countRows(t.app, 'sessions', { id_hash: issued }), 0, 'only a hash of the id is stored');

      // the attacker's browser, still holding the planted value, gets no SSO
      const attacker = new CookieJar();
      attacker.cookies.set(SSO_COOKIE_NAME, planted);
      assertPrompted(await requestGrant(t.app, attacker));
    } finally {
      await t.close();
    }
  });

  it("logging in again deletes the browser's previous session server-side", async () => {
    const t = await createTestApp();
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const first = jar.cookies.get(SSO_COOKIE_NAME)!;
      await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD, jar, query: { force: '1' } });
      const second = jar.cookies.get(SSO_COOKIE_NAME)!;
      assert.notEqual(second, first);
      assert.equal(await countRows(t.app, 'sessions'), 1);
      assert.equal(await countRows(t.app, 'sessions', { id_hash: hashSessionId(first) }), 0);
      const stale = new CookieJar();
      stale.cookies.set(SSO_COOKIE_NAME, first);
      assertPrompted(await requestGrant(t.app, stale));
      assertGranted(await requestGrant(t.app, jar));
    } finally {
      await t.close();
    }
  });

  it("a second person logging in on the same browser never inherits the first one's session", async () => {
    const t = await createTestApp({ users: [{ name: 'alice', password: ALICE_PASSWORD }, { name: 'bob', password: 'bob-has-a-long-password' }] });
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const alicesCookie = jar.cookies.get(SSO_COOKIE_NAME)!;
      const { response } = await attemptLogin(t.app, { username: 'bob', password: 'bob-has-a-long-password', jar, query: { force: '1' } });
      assert.equal((await verifyGrantWithJwks(t.app, assertGranted(response), { now: Date.now() })).payload.sub, 'bob');
      assert.equal(await countRows(t.app, 'sessions', { username: 'alice' }), 0);
      const next = await verifyGrantWithJwks(t.app, assertGranted(await requestGrant(t.app, jar)), { now: Date.now() });
      assert.equal(next.payload.sub, 'bob');
      const old = new CookieJar();
      old.cookies.set(SSO_COOKIE_NAME, alicesCookie);
      assertPrompted(await requestGrant(t.app, old));
    } finally {
      await t.close();
    }
  });
});

describe('server-side session lifetimes', () => {
  it('defaults: 30 min idle, 8 h absolute, stored on the session row', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      assert.equal(t.config.session.idleSeconds, 1800);
      assert.equal(t.config.session.absoluteSeconds, 28_800);
      await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const row = await t.app.webiso.store.db.selectFrom('sessions').select(['idle_seconds', 'absolute_expires_at', 'created_at']).executeTakeFirstOrThrow();
      assert.equal(row.idle_seconds, 1800);
      assert.equal(row.absolute_expires_at - row.created_at, 28_800);
      assert.equal(row.created_at, seconds(clock.now()));
    } finally {
      await t.close();
    }
  });

  it('idle expiry: activity slides the window; past it the browser must log in again and the row is gone', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now, config: testConfig({ session: { idleSeconds: 300, absoluteSeconds: 3600 } }) });
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      clock.advance(299);
      assertGranted(await requestGrant(t.app, jar));
      clock.advance(299);
      assertGranted(await requestGrant(t.app, jar)); // still alive: the previous use counted as activity
      clock.advance(300);
      assertPrompted(await requestGrant(t.app, jar), 'idle for the whole idle lifetime');
      assert.equal(await countRows(t.app, 'sessions'), 0);
      const passive = await requestGrant(t.app, jar, { passive: '1' });
      assert.equal(hiddenField(passive.body, 'error'), 'login_required');
    } finally {
      await t.close();
    }
  });

  it('absolute expiry ends the session however active it is', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now, config: testConfig({ session: { idleSeconds: 300, absoluteSeconds: 900 } }) });
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      for (let elapsed = 250; elapsed < 900; elapsed += 250) {
        clock.advance(250);
        assertGranted(await requestGrant(t.app, jar));
      }
      clock.advance(900 - 750);
      assertPrompted(await requestGrant(t.app, jar), 'past the absolute lifetime, though used 150 s ago');
      assert.equal(await countRows(t.app, 'sessions'), 0);
    } finally {
      await t.close();
    }
  });
});

describe('throttling and enumeration', () => {
  it('after 10 failures the right password is refused with the same page as a wrong one; the audit log tells them apart', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      let lastFailure: LightMyRequestResponse | undefined;
      for (let i = 0; i < 10; i += 1) {
        lastFailure = (await attemptLogin(t.app, { username: 'alice', password: `wrong-${i}` })).response;
        assert.equal(lastFailure.statusCode, 401);
      }
      const throttled = (await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD })).response;
      assert.equal(throttled.statusCode, lastFailure!.statusCode);
      assert.equal(normalisePage(throttled.body), normalisePage(lastFailure!.body));
      assert.ok(throttled.body.includes(GENERIC_LOGIN_FAILURE));
      assert.equal(grantOf(throttled.body), undefined);
      assert.equal(sessionCookieSet(throttled), false);
      assert.equal(await countRows(t.app, 'sessions'), 0);

      const events = (await auditEvents(t.app)).filter((row) => row.event.startsWith('login.'));
      assert.deepEqual(events.map((row) => row.event), [...Array(10).fill('login.failure'), 'login.throttled']);
      for (const row of events) assert.equal(row.username, 'alice');

      // the budget is per window: after it, the right password works again
      clock.advance(t.config.throttle.windowSeconds);
      assertGranted((await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD })).response);
    } finally {
      await t.close();
    }
  });

  it('case and width variants of a username share one counter', async () => {
    const t = await createTestApp();
    try {
      for (const username of ['ALICE', 'ALICE', 'ALICE', 'Alice', 'Alice', 'Alice', 'aLiCe', 'Ａｌｉｃｅ', ' alice ', 'ALICE']) {
        assert.equal((await attemptLogin(t.app, { username, password: 'wrong-password' })).response.statusCode, 401);
      }
      const { response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      assert.equal(response.statusCode, 401);
      assert.equal(grantOf(response.body), undefined);
      assert.equal(await countRows(t.app, 'login_failures', { scope: 'account', key: 'alice' }), 10);
      assert.equal((await auditEvents(t.app)).at(-1)?.event, 'login.throttled');
    } finally {
      await t.close();
    }
  });

  it('a per-IP limit stops a spray across many accounts; another IP is unaffected; X-Forwarded-For from an untrusted peer changes nothing', async () => {
    const t = await createTestApp({ config: testConfig({ throttle: { maxFailuresPerIp: 5 } }) });
    try {
      const sprayer = '203.0.113.5';
      for (let i = 0; i < 5; i += 1) {
        const { response } = await attemptLogin(t.app, { username: `victim${i}`, password: 'Winter2026!', remoteAddress: sprayer });
        assert.equal(response.statusCode, 401);
      }
      const blocked = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD, remoteAddress: sprayer });
      assert.equal(blocked.response.statusCode, 401);
      assert.equal(grantOf(blocked.response.body), undefined);
      const spoofed = new CookieJar();
      const form = await getLoginForm(t.app, spoofed);
      const viaHeader = await postForm(t.app, spoofed, '/login', { ctx: form.ctx!, csrf: form.csrf!, username: 'alice', password: ALICE_PASSWORD }, { remoteAddress: sprayer, headers: { 'x-forwarded-for': '198.51.100.77' } });
      assert.equal(viaHeader.statusCode, 401, 'X-Forwarded-For from a non-proxy must not reset the per-IP budget');
      const throttledRows = (await auditEvents(t.app)).filter((row) => row.event === 'login.throttled');
      assert.equal(throttledRows.length, 2);
      for (const row of throttledRows) assert.equal(row.client_ip, sprayer);

      assertGranted((await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD, remoteAddress: '203.0.113.6' })).response);
    } finally {
      await t.close();
    }
  });

  it('wrong password, unknown user and disabled account look identical (status, headers, page)', async () => {
    const t = await createTestApp({ users: [{ name: 'alice', password: ALICE_PASSWORD }, { name: 'carol', password: 'carol-password-long' }] });
    try {
      await t.app.webiso.users.setDisabled('carol', true, new Date());
      const wrongPassword = (await attemptLogin(t.app, { username: 'alice', password: 'not-her-password' })).response;
      const unknownUser = (await attemptLogin(t.app, { username: 'zelda', password: 'not-her-password' })).response;
      const disabled = (await attemptLogin(t.app, { username: 'carol', password: 'carol-password-long' })).response;
      const headerNames = (response: LightMyRequestResponse) => Object.keys(response.headers).sort();
      const stableHeaders = (response: LightMyRequestResponse) => {
        const { date: _date, 'content-security-policy': _csp, 'content-length': _length, ...rest } = response.headers;
        return rest;
      };
      for (const other of [unknownUser, disabled]) {
        assert.equal(other.statusCode, wrongPassword.statusCode);
        assert.deepEqual(headerNames(other), headerNames(wrongPassword));
        assert.deepEqual(stableHeaders(other), stableHeaders(wrongPassword));
        assert.equal(normalisePage(other.body), normalisePage(wrongPassword.body));
      }
      assert.equal(wrongPassword.statusCode, 401);
      assert.ok(wrongPassword.body.includes(GENERIC_LOGIN_FAILURE));
    } finally {
      await t.close();
    }
  });

  it('an unknown user costs the same password-hash work as a known one (no timing oracle)', async () => {
    const t = await createTestApp();
    try {
      const timed = async (username: string) => {
        const jar = new CookieJar();
        const form = await getLoginForm(t.app, jar);
        const started = process.hrtime.bigint();
        const response = await postForm(t.app, jar, '/login', { ctx: form.ctx!, csrf: form.csrf!, username, password: 'not-the-password' });
        const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
        assert.equal(response.statusCode, 401);
        return elapsed;
      };
      await timed('warm-up-unknown'); // the first unknown user also computes the decoy hash
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 7; i += 1) {
        known.push(await timed('alice'));
        unknown.push(await timed(`nobody${i}`));
      }
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const ratio = median(unknown) / median(known);
      // argon2id at 19 MiB takes tens of milliseconds; a skipped hash would make the ratio ~0.01
      assert.ok(ratio > 0.5 && ratio < 2, `median unknown ${median(unknown).toFixed(1)} ms vs known ${median(known).toFixed(1)} ms`);
    } finally {
      await t.close();
    }
  });
});

describe('passwords', () => {
  const LONG = 'Grüße aus Köln – 日本語のパスワード 🔐🔑 ÆØÅ ñandú ' + 'ß'.repeat(20) + ' Ωμέγα ελληνικά — end';

  it('a 64+ character multibyte password works exactly as typed, and any one-character change fails', async () => {
    assert.ok([...LONG].length >= 64, `${[...LONG].length} code points`);
    const t = await createTestApp({ users: [{ name: 'alice', password: LONG }] });
    try {
      assertGranted((await attemptLogin(t.app, { username: 'alice', password: LONG })).response);
      const variants = [
        LONG.slice(0, -1),
        `${LONG}!`,
        LONG.replace('K', 'k'),
        LONG.replace('🔑', '🔒'),
        LONG.replace('ü', 'u\u0308'), // same glyph, decomposed: verified as received, not normalised
        ` ${LONG}`,
        LONG.slice(0, 72), // no bcrypt-style truncation
      ];
      for (const variant of variants) {
        const { response } = await attemptLogin(t.app, { username: 'alice', password: variant });
        assert.equal(response.statusCode, 401, JSON.stringify(variant));
        assert.equal(grantOf(response.body), undefined);
      }
    } finally {
      await t.close();
    }
  });

  it('a 1024-character password works; a longer one is refused without hashing', async () => {
    const long = 'p'.repeat(1023) + 'é';
    const t = await createTestApp({ users: [{ name: 'alice', password: long }] });
    try {
      assertGranted((await attemptLogin(t.app, { username: 'alice', password: long })).response);
      const { response } = await attemptLogin(t.app, { username: 'alice', password: `${long}x` });
      assert.equal(response.statusCode, 401);
      assert.ok(response.body.includes(GENERIC_LOGIN_FAILURE));
    } finally {
      await t.close();
    }
  });

  it('stores argon2id with m ≥ 19456 KiB, t ≥ 2, p = 1 and a unique salt', async () => {
    const t = await createTestApp({ users: [{ name: 'alice', password: 'same-password-here' }, { name: 'bob', password: 'same-password-here' }] });
    try {
      const hashes = (await t.app.webiso.store.db.selectFrom('users').select('password_hash').orderBy('username').execute()).map((row) => row.password_hash);
      assert.equal(hashes.length, 2);
      for (const stored of hashes) {
        const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(stored);
        assert.ok(match, stored);
        assert.ok(Number(match[1]) >= 19_456, `m=${match[1]}`);
        assert.ok(Number(match[2]) >= 2, `t=${match[2]}`);
        assert.equal(Number(match[3]), 1);
        assert.ok(!stored.includes('same-password-here'));
      }
      assert.notEqual(hashes[0], hashes[1]);
    } finally {
      await t.close();
    }
  });

  it('a hash with weaker (legacy) parameters is upgraded on the next successful login', async () => {
    const t = await createTestApp({ users: [] });
    try {
      const weak = await argon2Hash('legacy-user-password', { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
      await t.app.webiso.users.add('legacy', weak, [], new Date());
      assertGranted((await attemptLogin(t.app, { username: 'legacy', password: 'legacy-user-password' })).response);
      const stored = (await t.app.webiso.users.find('legacy'))!.passwordHash;
      assert.notEqual(stored, weak);
      assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assertGranted((await attemptLogin(t.app, { username: 'legacy', password: 'legacy-user-password' })).response);
    } finally {
      await t.close();
    }
  });
});

describe('logout', () => {
  async function loggedIn(t: { app: FastifyInstance }) {
    const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    assert.equal(await countRows(t.app, 'sessions'), 1);
    return jar;
  }

  async function logoutForm(app: FastifyInstance, jar: CookieJar, query = '') {
    const response = await app.inject({ method: 'GET', url: `/logout${query}`, headers: { ...HTML, ...jar.header() } });
    jar.store(response);
    return response;
  }

  it('GET /logout only shows a confirmation; the session survives it', async () => {
    const t = await createTestApp();
    try {
      const jar = await loggedIn(t);
      const page = await logoutForm(t.app, jar);
      assert.equal(page.statusCode, 200);
      assert.deepEqual(formActions(page.body), ['/logout']);
      assert.ok(hiddenField(page.body, 'csrf'));
      assert.match(page.body, /<strong id="current-user">alice<\/strong>/);
      assert.equal(setCookieLines(page).filter((line) => line.startsWith(SSO_COOKIE_NAME)).length, 0);
      assert.equal(await countRows(t.app, 'sessions'), 1);
      assertGranted(await requestGrant(t.app, jar));
    } finally {
      await t.close();
    }
  });

  it('POST /logout without a valid CSRF token → 403 and the session survives', async () => {
    const t = await createTestApp();
    try {
      const jar = await loggedIn(t);
      const loginForm = await getLoginForm(t.app, jar, { force: '1' });
      const attempts: Array<Record<string, string>> = [{}, { csrf: '' }, { csrf: 'x'.repeat(43) }, { csrf: loginForm.csrf! }];
      for (const fields of attempts) {
        const response = await postForm(t.app, jar, '/logout', fields);
        assert.equal(response.statusCode, 403, JSON.stringify(fields));
        assert.match(response.body, /<code id="error-code">csrf_invalid<\/code>/);
        assert.equal(response.headers['clear-site-data'], undefined);
      }
      assert.equal(await countRows(t.app, 'sessions'), 1);
      assertGranted(await requestGrant(t.app, jar));
    } finally {
      await t.close();
    }
  });

  it('POST /logout with the CSRF token deletes the session row, expires the cookie, clears site data', async () => {
    const t = await createTestApp();
    try {
      const jar = await loggedIn(t);
      const oldCookie = jar.cookies.get(SSO_COOKIE_NAME)!;
      const csrf = hiddenField((await logoutForm(t.app, jar)).body, 'csrf')!;
      const response = await postForm(t.app, jar, '/logout', { csrf });
      assert.equal(response.statusCode, 200);
      assert.match(response.body, /id="logged-out"/);
      assert.equal(await countRows(t.app, 'sessions'), 0);
      assert.equal(response.headers['clear-site-data'], '"cookies"');
      assert.equal(response.headers['cache-control'], 'no-store');
      const cleared = setCookieLines(response).find((line) => line.startsWith(`${SSO_COOKIE_NAME}=`));
      assert.ok(cleared, 'the SSO cookie is expired');
      assert.match(cleared, /^__Host-webiso_login=;/);
      assert.match(cleared, /Expires=Thu, 01 Jan 1970 00:00:00 GMT|Max-Age=0/);
      assert.match(cleared, /; Path=\//);
      assert.match(cleared, /; Secure/);
      assert.equal(jar.cookies.has(SSO_COOKIE_NAME), false);
      assert.ok((await auditEvents(t.app)).some((row) => row.event === 'logout' && row.username === 'alice' && row.detail === 'session deleted apps=app'));

      // a copy of the old cookie (a restored browser profile) no longer gives SSO
      const restored = new CookieJar();
      restored.cookies.set(SSO_COOKIE_NAME, oldCookie);
      assertPrompted(await requestGrant(t.app, restored));
      assertPrompted(await requestGrant(t.app, jar));
    } finally {
      await t.close();
    }
  });

  it('a registered return URL is honoured with a 303; the confirmation page carries it', async () => {
    const t = await createTestApp();
    try {
      const jar = await loggedIn(t);
      const page = await logoutForm(t.app, jar, `?return=${encodeURIComponent('https://other.example.edu/cb')}`);
      assert.equal(hiddenField(page.body, 'return'), 'https://other.example.edu/cb');
      const response = await postForm(t.app, jar, '/logout', { csrf: hiddenField(page.body, 'csrf')!, return: 'https://other.example.edu/cb' });
      assert.equal(response.statusCode, 303);
      assert.equal(response.headers.location, 'https://other.example.edu/cb');
      assert.equal(response.headers['clear-site-data'], '"cookies"');
      assert.equal(await countRows(t.app, 'sessions'), 0);
    } finally {
      await t.close();
    }
  });

  for (const bad of ['https://evil.test/', 'https://app.example.edu.evil.test/webiso/callback', 'https://app.example.edu@evil.test/', 'javascript:alert(1)', '//evil.test/']) {
    it(`an unregistered logout return (${bad}) → 400 and no redirect`, async () => {
      const t = await createTestApp();
      try {
        const jar = await loggedIn(t);
        const page = await logoutForm(t.app, jar, `?return=${encodeURIComponent(bad)}`);
        assert.equal(page.statusCode, 400);
        assert.match(page.body, /<code id="error-code">return_url_not_registered<\/code>/);
        assert.deepEqual(formActions(page.body), []);
        const csrf = hiddenField((await logoutForm(t.app, jar)).body, 'csrf')!;
        const response = await postForm(t.app, jar, '/logout', { csrf, return: bad });
        assert.equal(response.statusCode, 400);
        assert.equal(response.headers.location, undefined);
        assert.deepEqual(formActions(response.body), []);
        assert.doesNotMatch(response.body, /evil\.test|javascript:/);
      } finally {
        await t.close();
      }
    });
  }
});
