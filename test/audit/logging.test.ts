import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import {
  ALICE_PASSWORD,
  attemptLogin,
  auditEvents,
  CookieJar,
  countRows,
  createTestApp,
  CSRF_COOKIE_NAME,
  fakeClock,
  getLoginForm,
  grantOf,
  hiddenField,
  HTML,
  loginQuery,
  postForm,
  SSO_COOKIE_NAME,
  testConfig,
} from '../support/webiso.ts';

/** A pino destination that keeps every raw chunk, so line structure can be checked. */
function captureLog() {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  return {
    stream,
    text: () => text,
    entries: () =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

describe('audit log and application log', () => {
  it('a username with CR/LF/ANSI escapes yields single-line JSON with a stable event and no forged lines', async () => {
    const log = captureLog();
    const t = await createTestApp({ logger: true, logStream: log.stream, config: testConfig({ logLevel: 'trace' }) });
    try {
      const username = 'mallory\r\n{"level":30,"event":"login.success","username":"admin"}\n\u001b[31mred\u001b[0m\u0007\u0085';
      const { response } = await attemptLogin(t.app, { username, password: 'wrong-password' });
      assert.equal(response.statusCode, 401);

      const raw = log.text();
      assert.ok(raw.endsWith('\n'));
      const lines = raw.split('\n').filter((line) => line !== '');
      for (const line of lines) {
        assert.doesNotMatch(line, /[\r\u001b\u0007]/, 'no raw control characters in a log line');
        const entry = JSON.parse(line) as Record<string, unknown>;
        assert.equal(typeof entry.level, 'number');
        assert.match(String(entry.time), ISO_UTC);
      }
      const entries = log.entries();
      const failures = entries.filter((entry) => entry.event === 'login.failure');
      assert.equal(failures.length, 1);
      assert.equal(entries.filter((entry) => entry.event === 'login.success').length, 0, 'the forged line did not become an event');
      const logged = String(failures[0]!.username);
      assert.doesNotMatch(logged, CONTROL);
      assert.ok(logged.startsWith('mallory'));
      assert.equal(failures[0]!.appId, 'app');
      assert.equal(failures[0]!.flavor, 'basic');
      assert.equal(failures[0]!.clientIp, '127.0.0.1');
      assert.equal(failures[0]!.verifier, 'local');

      const row = (await auditEvents(t.app)).find((event) => event.event === 'login.failure');
      assert.ok(row);
      assert.doesNotMatch(row.username ?? '', CONTROL);
    } finally {
      await t.close();
    }
  });

  it('no password, grant, cookie value, CSRF token or login context ever reaches the log, even at trace level', async () => {
    const log = captureLog();
    const t = await createTestApp({ logger: true, logStream: log.stream, config: testConfig({ logLevel: 'trace' }) });
    try {
      const secrets: string[] = [ALICE_PASSWORD, 'wrong-password-hunter2', 'password-in-the-url-xyzzy'];
      // a password in a URL is refused; it must not be logged on the way
      const inUrl = await t.app.inject({ method: 'GET', url: `/login?${loginQuery()}&username=alice&password=password-in-the-url-xyzzy`, headers: HTML });
      assert.equal(inUrl.statusCode, 400);

      const jar = new CookieJar();
      const failed = await attemptLogin(t.app, { username: 'alice', password: 'wrong-password-hunter2', jar });
      secrets.push(hiddenField(failed.form.body, 'ctx')!, hiddenField(failed.form.body, 'csrf')!);
      const { response, form } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD, jar });
      secrets.push(hiddenField(form.body, 'ctx')!, hiddenField(form.body, 'csrf')!);
      const grant = grantOf(response.body)!;
      const ssoCookie = jar.cookies.get(SSO_COOKIE_NAME)!;
      const csrfCookie = jar.cookies.get(CSRF_COOKIE_NAME)!;
      secrets.push(grant, grant.split('.')[2]!, grant.split('.')[1]!, ssoCookie, csrfCookie, String(decodeJwt(grant).jti));

      const sso = await t.app.inject({ method: 'GET', url: `/login?${loginQuery({ nonce: 'second' })}`, headers: { ...HTML, ...jar.header() } });
      const ssoGrant = grantOf(sso.body)!;
      secrets.push(ssoGrant, ssoGrant.split('.')[2]!, String(decodeJwt(ssoGrant).jti));
      const logoutPage = await t.app.inject({ method: 'GET', url: '/logout', headers: { ...HTML, ...jar.header() } });
      const logoutCsrf = hiddenField(logoutPage.body, 'csrf')!;
      secrets.push(logoutCsrf);
      assert.equal((await postForm(t.app, jar, '/logout', { csrf: logoutCsrf })).statusCode, 200);

      const text = log.text();
      assert.ok(text.length > 0);
      for (const secret of secrets) {
        assert.ok(secret.length >= 8);
        assert.ok(!text.includes(secret), `the log contains a secret: ${secret.slice(0, 12)}…`);
      }
      // the nonce-bearing query string is not logged either, only the path
      assert.ok(!text.includes('nonce-123'));

      const events = log.entries().filter((entry) => typeof entry.event === 'string' && !String(entry.event).startsWith('request.'));
      assert.deepEqual(
        events.map((entry) => entry.event),
        ['login.failure', 'login.success', 'grant.issued', 'login.sso', 'grant.issued', 'session.ended', 'logout'],
      );
      // logout and session.ended are about the whole session, not one app
      for (const entry of events.filter((e) => e.event !== 'logout' && e.event !== 'session.ended')) {
        assert.equal(entry.clientIp, '127.0.0.1', String(entry.event));
        assert.equal(entry.appId, 'app', String(entry.event));
        assert.equal(entry.flavor, 'basic', String(entry.event));
      }
      // the refused password-in-URL request is logged as a rejection with its stable code
      assert.ok(log.entries().some((entry) => entry.event === 'request.rejected' && entry.code === 'password_in_url'));
    } finally {
      await t.close();
    }
  });

  it('auth_events rows carry UTC ISO-8601 timestamps from the server clock, and name every step', async () => {
    const clock = fakeClock(Date.UTC(2027, 0, 15, 8, 30, 0));
    const t = await createTestApp({ now: clock.now });
    try {
      await attemptLogin(t.app, { username: 'alice', password: 'wrong-password' });
      clock.advance(10);
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      clock.advance(10);
      await t.app.inject({ method: 'GET', url: `/login?${loginQuery({ passive: '1' })}`, headers: HTML });
      const csrf = hiddenField((await t.app.inject({ method: 'GET', url: '/logout', headers: { ...HTML, ...jar.header() } })).body, 'csrf')!;
      await postForm(t.app, jar, '/logout', { csrf });

      const rows = await auditEvents(t.app);
      assert.deepEqual(
        rows.map((row) => row.event),
        ['login.failure', 'login.success', 'grant.issued', 'login.passive_failed', 'grant.error', 'session.ended', 'logout'],
      );
      for (const row of rows) assert.match(row.at, ISO_UTC);
      assert.equal(rows[0]!.at, '2027-01-15T08:30:00.000Z');
      assert.equal(rows[1]!.at, '2027-01-15T08:30:10.000Z');
      assert.equal(rows.at(-1)!.at, '2027-01-15T08:30:20.000Z');
      assert.equal(rows[0]!.detail, 'invalid_credentials');
      assert.equal(rows[1]!.verifier, 'local');
      assert.match(rows[2]!.detail ?? '', /^jti=.{8}… kind=user$/);
      assert.equal(rows[3]!.detail, 'login_required');
    } finally {
      await t.close();
    }
  });

  it('the client IP is the socket address unless the peer is a configured trusted proxy', async () => {
    const direct = await createTestApp();
    try {
      const jar = new CookieJar();
      const form = await getLoginForm(direct.app, jar);
      await postForm(direct.app, jar, '/login', { ctx: form.ctx!, csrf: form.csrf!, username: 'alice', password: 'wrong-password' }, { remoteAddress: '203.0.113.9', headers: { 'x-forwarded-for': '198.51.100.1' } });
      assert.equal((await auditEvents(direct.app)).at(-1)?.client_ip, '203.0.113.9');
      assert.equal(await countRows(direct.app, 'login_failures', { scope: 'ip', key: '203.0.113.9' }), 1);
    } finally {
      await direct.close();
    }

    const proxied = await createTestApp({ config: testConfig({ trustedProxies: ['10.0.0.1'] }) });
    try {
      const viaProxy = new CookieJar();
      const form = await getLoginForm(proxied.app, viaProxy);
      await postForm(proxied.app, viaProxy, '/login', { ctx: form.ctx!, csrf: form.csrf!, username: 'alice', password: 'wrong-password' }, { remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': '198.51.100.1' } });
      assert.equal((await auditEvents(proxied.app)).at(-1)?.client_ip, '198.51.100.1');

      const bypass = new CookieJar();
      const second = await getLoginForm(proxied.app, bypass);
      await postForm(proxied.app, bypass, '/login', { ctx: second.ctx!, csrf: second.csrf!, username: 'alice', password: 'wrong-password' }, { remoteAddress: '203.0.113.9', headers: { 'x-forwarded-for': '198.51.100.2' } });
      assert.equal((await auditEvents(proxied.app)).at(-1)?.client_ip, '203.0.113.9', 'a non-proxy peer cannot choose its IP');
    } finally {
      await proxied.close();
    }
  });
});
