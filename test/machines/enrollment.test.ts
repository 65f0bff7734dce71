import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, beforeEach, describe, it } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import { CookieJar, fakeClock, HTML, hiddenField, ISSUER, setCookieLines } from '../support/webiso.ts';
import { countRows, createMachineTestApp, eventsOf, FORM, jarWithMachineCookie, KIOSK, machineConfig, requestLogin, type MachineTestApp } from '../support/machines.ts';

const actor = { name: 'cli:ops' };

function codeOf(url: string): string {
  const match = /\/machines\/enroll\/([A-Za-z0-9_-]+)$/.exec(url);
  assert.ok(match?.[1], url);
  return match[1];
}

async function openLink(t: { app: MachineTestApp['app'] }, jar: CookieJar, code: string, accept = HTML) {
  const response = await t.app.inject({ method: 'GET', url: `/machines/enroll/${code}`, headers: { ...accept, ...jar.header() } });
  jar.store(response);
  return response;
}

async function confirm(t: { app: MachineTestApp['app'] }, jar: CookieJar, code: string, csrf: string) {
  const response = await t.app.inject({ method: 'POST', url: `/machines/enroll/${code}`, headers: { ...HTML, ...jar.header(), ...FORM }, payload: new URLSearchParams({ csrf }).toString() });
  jar.store(response);
  return response;
}

describe('enrollment: a one-time URL that installs the cookie in the browser that opens it', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
    await t.app.webiso.machines.operations.add(KIOSK, { entitlements: ['library-walk-in'] }, actor);
  });
  after(async () => t?.close());

  it('prints an issuer URL with a 256-bit code and stores only its hash', async () => {
    const enrollment = await t.app.webiso.machines.operations.createEnrollment(KIOSK, 60, actor);
    assert.match(enrollment.url, new RegExp(`^${ISSUER}/machines/enroll/[A-Za-z0-9_-]{43}$`));
    const code = codeOf(enrollment.url);
    const rows = await t.app.webiso.store.db.selectFrom('machine_enrollments').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(code), 'the code itself is not in the table');
    assert.ok(!JSON.stringify(await eventsOf(t.app, KIOSK)).includes(code), 'nor in the history');
    assert.equal(enrollment.expiresAt - Math.floor(t.app.webiso.now() / 1000), 900, '15 minutes by default');
    assert.deepEqual((await eventsOf(t.app, KIOSK)).map((event) => [event.action, event.actor]), [['add', 'cli:ops'], ['enroll_create', 'cli:ops']]);
  });

  it('GET only shows what would happen; the CSRF-checked POST installs the cookie once', async () => {
    const code = codeOf((await t.app.webiso.machines.operations.createEnrollment(KIOSK, 60, actor)).url);
    const browser = new CookieJar();
    const page = await openLink(t, browser, code);
    const again = await openLink(t, browser, code);
    assert.equal(page.statusCode, 200);
    assert.equal(again.statusCode, 200, 'a link scanner or prefetch does not burn the code');
    assert.match(page.body, /id="enroll-fqdn">kiosk1\.kiosk\.example\.edu</);
    assert.ok(!setCookieLines(page).some((line) => line.startsWith(MACHINE_COOKIE)));

    const forged = await confirm(t, browser, code, 'not-the-token');
    assert.equal(forged.statusCode, 403, 'no CSRF token, no enrollment');
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.version, 0);

    const response = await confirm(t, browser, code, hiddenField(page.body, 'csrf') ?? '');
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /id="kiosk-enrolled"/);
    const line = setCookieLines(response).find((cookie) => cookie.startsWith(`${MACHINE_COOKIE}=`));
    assert.ok(line && line.includes('Max-Age=5184000') && line.includes('HttpOnly') && line.includes('Secure') && line.includes('SameSite=Lax'));
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.version, 1);
    const redeemed = (await eventsOf(t.app, KIOSK)).at(-1);
    assert.equal(redeemed?.action, 'enroll_redeem');
    assert.equal(redeemed?.actor, 'cli:ops', 'who authorised it');
    assert.equal(redeemed?.client_ip, '127.0.0.1', 'and where it was redeemed');
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.setBy, 'cli:ops (enrollment)');

    const grant = await requestLogin(t.app, browser);
    assert.equal(grant.claims?.machineFQDN, KIOSK);
    assert.deepEqual(grant.claims?.entitlements, ['library-walk-in']);
  });

  it('is single use: a second redemption, in any browser, is refused and audited', async () => {
    const code = codeOf((await t.app.webiso.machines.operations.createEnrollment(KIOSK, 60, actor)).url);
    const first = new CookieJar();
    const page = await openLink(t, first, code);
    assert.equal((await confirm(t, first, code, hiddenField(page.body, 'csrf') ?? '')).statusCode, 200);

    const again = await confirm(t, first, code, hiddenField(page.body, 'csrf') ?? '');
    assert.equal(again.statusCode, 410);
    assert.match(again.body, /enrollment_invalid/);
    const other = new CookieJar();
    assert.equal((await openLink(t, other, code)).statusCode, 410);
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.version, 1, 'no second cookie');
    assert.deepEqual(
      (await eventsOf(t.app, KIOSK)).filter((event) => event.action === 'enroll_refused').map((event) => event.reason),
      ['already used'],
    );
  });

  it('expires after machines.enrollmentTtlSeconds', async () => {
    const code = codeOf((await t.app.webiso.machines.operations.createEnrollment(KIOSK, 60, actor)).url);
    const browser = new CookieJar();
    const page = await openLink(t, browser, code);
    t.clock.advance(901);
    assert.equal((await openLink(t, new CookieJar(), code)).statusCode, 410);
    assert.equal((await confirm(t, browser, code, hiddenField(page.body, 'csrf') ?? '')).statusCode, 410);
    assert.equal((await eventsOf(t.app, KIOSK)).at(-1)?.reason, 'expired');
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.version, 0);
  });

  it('refuses unknown and malformed codes alike, as a page for browsers and JSON for API clients', async () => {
    for (const code of ['A'.repeat(43), 'short', '%2e%2e', 'A'.repeat(44)]) {
      const html = await openLink(t, new CookieJar(), code);
      assert.ok(html.statusCode === 410 || html.statusCode === 404, `${code}: ${html.statusCode}`);
      assert.match(String(html.headers['content-type']), /text\/html/);
    }
    const json = await openLink(t, new CookieJar(), 'B'.repeat(43), { accept: 'application/json' } as typeof HTML);
    assert.equal(json.statusCode, 410);
    assert.equal(json.json().error, 'enrollment_invalid');
  });

  it('redeeming replaces the earlier cookie of the machine', async () => {
    const { cookie: earlier } = await t.app.webiso.machines.operations.mint(KIOSK, 30, actor);
    const code = codeOf((await t.app.webiso.machines.operations.createEnrollment(KIOSK, 60, actor)).url);
    const browser = new CookieJar();
    const page = await openLink(t, browser, code);
    await confirm(t, browser, code, hiddenField(page.body, 'csrf') ?? '');
    assert.ok((await requestLogin(t.app, jarWithMachineCookie(earlier))).prompted);
  });

  it('validates at creation: known machine, lifetime within the maximum', async () => {
    await assert.rejects(t.app.webiso.machines.operations.createEnrollment('nobody.kiosk.example.edu', 10, actor), /no machine named/);
    await assert.rejects(t.app.webiso.machines.operations.createEnrollment(KIOSK, 121, actor), /between 1 and 120 days/);
    assert.equal(await countRows(t.app, 'machine_enrollments'), 0);
  });
});

describe('enrollment codes stay out of the logs', () => {
  it('logs neither the URL path nor the code, at info level', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const clock = fakeClock();
    const app = await buildApp(machineConfig({ logLevel: 'info' }), { logStream: stream, now: clock.now });
    try {
      await app.webiso.machines.operations.add(KIOSK, {}, actor);
      const code = codeOf((await app.webiso.machines.operations.createEnrollment(KIOSK, 60, actor)).url);
      const jar = new CookieJar();
      const page = await openLink({ app }, jar, code);
      await confirm({ app }, jar, code, hiddenField(page.body, 'csrf') ?? '');
      await confirm({ app }, jar, code, hiddenField(page.body, 'csrf') ?? '');
      await app.inject({ method: 'GET', url: '/healthz' });
      const log = lines.join('');
      assert.match(log, /"path":"\/healthz"/, 'request logging is on (control)');
      assert.match(log, /machine\.enrolled/);
      assert.ok(!log.includes(code), 'the code never reaches the log');
    } finally {
      await app.close();
    }
  });
});
