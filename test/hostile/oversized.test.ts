import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createHostileApp, NATIVE_RETURN, CAS_SERVICE, type HostileApp } from './harness.ts';
import { hiddenField, testConfig } from '../support/webiso.ts';
import { signCookie } from '../support/machines.ts';

/** A real collection before each heap reading, so the figure is what is retained, not garbage. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Sends raw bytes over a socket; resolves with the status line the server answered. */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += String(chunk)));
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

describe('oversized inputs: a 4xx, and memory stays bounded', () => {
  let t: HostileApp;
  let form: { ctx: string; csrf: string; cookie: string };
  before(async () => {
    t = await createHostileApp();
    const page = await t.app.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'app', return: NATIVE_RETURN, nonce: 'n' })}`, headers: { accept: 'text/html' } });
    const cookie = (page.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ');
    form = { ctx: hiddenField(page.body, 'ctx') ?? '', csrf: hiddenField(page.body, 'csrf') ?? '', cookie };
  });
  after(async () => t.close());

  const post = (url: string, fields: Record<string, string>) => t.app.inject({ method: 'POST', url, headers: { accept: 'text/html', cookie: form.cookie, ...FORM }, payload: new URLSearchParams(fields).toString() });

  it('usernames, passwords, service URLs, cookies and form bodies', async () => {
    const cases: Array<[string, Promise<{ statusCode: number }>]> = [
      ['username of 50 000 characters', post('/login', { ...form, username: 'a'.repeat(50_000), password: 'x' })],
      ['password of 60 000 characters', post('/login', { ...form, username: 'alice', password: 'p'.repeat(60_000) })],
      ['admin username of 50 000 characters', post('/admin/login', { csrf: 'x', username: 'a'.repeat(50_000), password: 'x' })],
      ['form body of 1 MB', post('/login', { ...form, username: 'alice', password: 'p'.repeat(1_000_000) })],
      ['return URL of 10 000 characters', t.app.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'app', return: `${NATIVE_RETURN}/${'a'.repeat(10_000)}`, nonce: 'n' })}` })],
      ['CAS service of 10 000 characters', t.app.inject({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(CAS_SERVICE + 'a'.repeat(10_000))}` })],
      ['CAS ticket of 10 000 characters', t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(CAS_SERVICE)}&ticket=ST-${'a'.repeat(10_000)}` })],
      ['nonce of 10 000 characters', t.app.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'app', return: NATIVE_RETURN, nonce: 'n'.repeat(10_000) })}` })],
    ];
    for (const [label, response] of cases) {
      const { statusCode } = await response;
      assert.ok(statusCode >= 400 && statusCode < 500, `${label}: ${statusCode}`);
    }
    // cookies: webiso's own cookies oversized are ignored (the page still answers, with no session)
    const cookie = `__Host-webiso_login=${'a'.repeat(8000)}; __Host-webiso_machine=${'b'.repeat(8000)}; __Host-webiso_csrf=${'c'.repeat(8000)}`;
    const withCookies = await t.app.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'app', return: NATIVE_RETURN, nonce: 'n' })}`, headers: { accept: 'text/html', cookie } });
    assert.equal(withCookies.statusCode, 200);
    assert.match(withCookies.body, /name="password"/, 'the password form: no session from an oversized cookie');
  });

  it('two hundred near-limit bodies leave the heap where it was', async () => {
    const body = new URLSearchParams({ ...form, username: 'u'.repeat(30_000), password: 'p'.repeat(30_000) }).toString();
    const send = () => t.app.inject({ method: 'POST', url: '/login', headers: { accept: 'text/html', cookie: form.cookie, ...FORM }, payload: body });
    for (let i = 0; i < 30; i++) await send(); // warm-up
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) assert.ok((await send()).statusCode < 500);
    gc();
    const growth = process.memoryUsage().heapUsed - before;
    // 200 × 60 kB = 12 MB passed through; retained must be a small fraction of that
    assert.ok(growth < 4 * 1024 * 1024, `heap grew ${Math.round(growth / 1024 / 1024)} MB`);
  });
});

describe('oversized headers over a real socket', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(testConfig({ listen: { port: 0 } }));
  });
  after(async () => server.close());

  it('a 64 kB header is refused with 431 by the HTTP parser', async () => {
    const status = await rawRequest(server.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(65_536)}\r\nConnection: close\r\n\r\n`);
    assert.match(status, /^HTTP\/1\.1 431 /);
    const fine = await rawRequest(server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(fine, /^HTTP\/1\.1 200 /, 'control');
  });
});

describe('CR, LF, ANSI and NUL in usernames and FQDNs: one structured log line each', () => {
  let t: HostileApp;
  before(async () => {
    t = await createHostileApp();
  });
  after(async () => t.close());

  const HOSTILE = 'mallory\r\n{"level":30,"event":"login.success","username":"root"}\u001b[2J\u0000\u0085';

  function assertStructured(lines: readonly string[]): void {
    for (const line of lines) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof parsed.time, 'string', 'every line is one JSON object');
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(line, /[\u0000-\u001f\u007f]/, 'no raw control character in a log line');
    }
    assert.equal(lines.filter((line) => (JSON.parse(line) as { username?: string }).username === 'root').length, 0, 'no forged line');
  }

  it('a login with such a username', async () => {
    const start = t.logLines.length;
    const page = await t.app.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'app', return: NATIVE_RETURN, nonce: 'n' })}`, headers: { accept: 'text/html' } });
    const cookie = (page.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ');
    const response = await t.app.inject({ method: 'POST', url: '/login', headers: { accept: 'text/html', cookie, ...FORM }, payload: new URLSearchParams({ ctx: hiddenField(page.body, 'ctx') ?? '', csrf: hiddenField(page.body, 'csrf') ?? '', username: HOSTILE, password: 'x' }).toString() });
    assert.ok(response.statusCode < 500);
    await new Promise((resolve) => setImmediate(resolve));
    const lines = t.logLines.slice(start);
    const failures = lines.filter((line) => line.includes('"event":"login.failure"'));
    assert.equal(failures.length, 1, 'exactly one failure line');
    assert.match(failures[0] ?? '', /"username":"mallory\\uFFFD|"username":"mallory\uFFFD/);
    assertStructured(lines);
  });

  it('a machine cookie claiming such an FQDN, and an admin adding such a machine', async () => {
    const start = t.logLines.length;
    const forged = await signCookie(t.app, { fqdn: HOSTILE }, { purpose: 'grant' });
    await t.app.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'app', return: NATIVE_RETURN, nonce: 'n', flavor: 'machineoruser' })}`, headers: { accept: 'text/html', cookie: `__Host-webiso_machine=${forged}` } });
    await t.app.inject({ method: 'POST', url: '/admin/machines', headers: { accept: 'text/html', ...t.admin.header(), ...FORM }, payload: new URLSearchParams({ csrf: t.adminCsrf, fqdn: HOSTILE }).toString() });
    await new Promise((resolve) => setImmediate(resolve));
    const lines = t.logLines.slice(start);
    const rejected = lines.filter((line) => line.includes('"event":"machine.rejected"'));
    assert.equal(rejected.length, 1, 'one machine.rejected line');
    assert.match(rejected[0] ?? '', /"claimedFqdn":"mallory\?\?/);
    assertStructured(lines);
  });
});
