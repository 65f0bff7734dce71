import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.ts';
import { migratedUpTo } from '../support/partial-migrations.ts';
import { CookieJar, HTML, hiddenField } from '../support/webiso.ts';
import { ADMIN, addMachine, adminLogin, adminPage, adminPost, createMachineTestApp, eventsOf, FORM, KIOSK, postForm, type MachineTestApp } from '../support/machines.ts';

const actor = { name: 'cli:ops' };
const OTHER = 'kiosk2.kiosk.example.edu';

const codeOf = (url: string) => /\/machines\/enroll\/([A-Za-z0-9_-]{43})$/.exec(url)?.[1] ?? assert.fail(url);

/** Opens the link and confirms it, as the kiosk's browser would; the status of the confirmation. */
async function redeem(t: MachineTestApp, code: string): Promise<number> {
  const jar = new CookieJar();
  const page = await t.app.inject({ method: 'GET', url: `/machines/enroll/${code}`, headers: HTML });
  jar.store(page);
  if (page.statusCode !== 200) return page.statusCode;
  const response = await t.app.inject({ method: 'POST', url: `/machines/enroll/${code}`, headers: { ...HTML, ...jar.header(), ...FORM }, payload: new URLSearchParams({ csrf: hiddenField(page.body, 'csrf') ?? '' }).toString() });
  return response.statusCode;
}

describe('enrollment links: one pending link per machine', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
    await t.app.webiso.machines.operations.add(KIOSK, {}, actor);
    await t.app.webiso.machines.operations.add(OTHER, {}, actor);
  });
  after(async () => t?.close());

  it('a new link cancels the older unredeemed one, and the history says so', async () => {
    const { operations } = t.app.webiso.machines;
    const first = await operations.createEnrollment(KIOSK, 30, actor);
    const other = await operations.createEnrollment(OTHER, 30, actor);
    t.clock.advance(60);
    const second = await operations.createEnrollment(KIOSK, 30, { name: 'carol' });
    assert.equal(await redeem(t, codeOf(first.url)), 410, 'the older link no longer works');
    const cancel = (await eventsOf(t.app, KIOSK)).find((event) => event.action === 'enroll_cancel');
    assert.deepEqual([cancel?.actor, cancel?.reason], ['carol', 'replaced by a newer link']);
    assert.match(cancel?.detail ?? '', /^code#[A-Za-z0-9_-]{10}$/);
    await assert.rejects(operations.redeemEnrollment(codeOf(first.url), { name: 'enrollment', ip: '10.0.0.9' }), { code: 'enrollment_invalid' });
    assert.deepEqual((await eventsOf(t.app, KIOSK)).at(-1), { action: 'enroll_refused', actor: 'enrollment', version: null, client_ip: '10.0.0.9', reason: 'cancelled', detail: cancel?.detail ?? null });
    assert.equal(await redeem(t, codeOf(second.url)), 200, 'the newest link works');
    assert.equal(await redeem(t, codeOf(other.url)), 200, "another machine's link is untouched");
  });

  it('lists pending links (never the code) and cancels one', async () => {
    const { operations } = t.app.webiso.machines;
    const link = await operations.createEnrollment(KIOSK, 30, actor);
    await operations.createEnrollment(OTHER, 30, actor);
    assert.deepEqual((await operations.pendingEnrollments()).map((pending) => pending.fqdn).sort(), [KIOSK, OTHER]);
    assert.ok(!JSON.stringify(await operations.pendingEnrollments()).includes(codeOf(link.url)));
    const cancelled = await operations.cancelEnrollment(KIOSK, { name: 'carol', ip: '10.0.0.1' }, 'printed sheet lost');
    assert.equal(await operations.pendingEnrollmentOf(KIOSK), undefined);
    assert.deepEqual((await operations.pendingEnrollments()).map((pending) => pending.fqdn), [OTHER]);
    assert.deepEqual((await eventsOf(t.app, KIOSK)).at(-1), { action: 'enroll_cancel', actor: 'carol', version: null, client_ip: '10.0.0.1', reason: 'printed sheet lost', detail: cancelled.tag });
    assert.equal(await redeem(t, codeOf(link.url)), 410);
    await assert.rejects(operations.cancelEnrollment(KIOSK, actor), { code: 'enrollment_not_found' });
  });

  it('expired links are not pending', async () => {
    const { operations } = t.app.webiso.machines;
    await operations.createEnrollment(KIOSK, 30, actor);
    t.clock.advance(901);
    assert.deepEqual(await operations.pendingEnrollments(), []);
    await operations.createEnrollment(KIOSK, 30, actor);
    assert.equal((await eventsOf(t.app, KIOSK)).filter((event) => event.action === 'enroll_cancel').length, 0, 'an expired link is closed silently, not "cancelled"');
  });

  it('the database refuses a second open link for one machine whatever the code does', async () => {
    await t.app.webiso.machines.operations.createEnrollment(KIOSK, 30, actor);
    const insert = t.app.webiso.store.db
      .insertInto('machine_enrollments')
      .values({ code_hash: 'x', fqdn: KIOSK, lifetime_days: 1, created_by: 'x', created_at: 1, expires_at: 9_999_999_999, used_at: null, used_ip: null, cancelled_at: null, cancelled_by: null })
      .execute();
    await assert.rejects(insert, /UNIQUE constraint failed|duplicate key value violates unique constraint/);
  });
});

describe('enrollment links in the admin pages', () => {
  let t: MachineTestApp;
  let admin: CookieJar;
  const page = `/admin/machines/${KIOSK}`;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
    admin = new CookieJar();
    await adminLogin(t.app, admin);
    await addMachine(t.app, admin, KIOSK);
  });
  after(async () => t?.close());

  it('issues a link from the machine page, shown once, that installs the cookie', async () => {
    const response = await adminPost(t.app, admin, `${page}/enroll`, { days: '30' }, page);
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /id="admin-user">root</);
    const url = /id="enrollment-url" value="([^"]+)"/.exec(response.body)?.[1] ?? '';
    assert.match(response.headers['cache-control'] as string, /no-store/);
    assert.equal(await redeem(t, codeOf(url)), 200);
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.setBy, 'root (enrollment)');
    assert.deepEqual((await eventsOf(t.app, KIOSK)).filter((event) => event.action.startsWith('enroll')).map((event) => [event.action, event.actor]), [['enroll_create', 'root'], ['enroll_redeem', 'root']]);
  });

  it('a second link from the pages replaces the first and says so', async () => {
    const first = /id="enrollment-url" value="([^"]+)"/.exec((await adminPost(t.app, admin, `${page}/enroll`, { days: '30' }, page)).body)?.[1] ?? '';
    const second = await adminPost(t.app, admin, `${page}/enroll`, { days: '10' }, page);
    assert.match(second.body, /id="replaced-enrollment">The earlier link <code>code#/);
    assert.equal(await redeem(t, codeOf(first)), 410);
  });

  it('needs a recent password and the mint policy, like minting', async () => {
    t.clock.advance(301);
    const reauth = (await adminPage(t.app, admin, page)).body;
    assert.match(reauth, /id="mint-reauth"/);
    assert.doesNotMatch(reauth, /id="enroll-form"/, 'no form to issue a link with a stale password');
    const stale = await postForm(t.app, admin, `${page}/enroll`, { days: '30', csrf: hiddenField(reauth.slice(reauth.indexOf('id="revoke-form"')), 'csrf') ?? '' });
    assert.equal(stale.statusCode, 303);
    assert.equal(stale.headers.location, `/admin/login?next=${encodeURIComponent(page)}`);
    await adminLogin(t.app, admin);
    await t.app.webiso.machines.operations.add('pc1.staff.example.edu', {}, actor);
    const html = (await adminPage(t.app, admin, '/admin/machines/pc1.staff.example.edu')).body;
    assert.doesNotMatch(html, /id="enroll-form"/);
    const denied = await postForm(t.app, admin, '/admin/machines/pc1.staff.example.edu/enroll', { days: '5', csrf: hiddenField(html.slice(html.indexOf('id="revoke-form"')), 'csrf') ?? '' });
    assert.equal(denied.statusCode, 403);
    assert.match(denied.body, /id="enroll-error" role="alert" data-error-code="mint_not_allowed">The mint policy does not let root issue an enrollment link/);
    assert.deepEqual(await t.app.webiso.machines.operations.pendingEnrollments(), []);
  });

  it('lists pending links on their own page and on the machine page, and cancels them from both', async () => {
    await t.app.webiso.machines.operations.createEnrollment(KIOSK, 30, { name: 'carol' });
    const machinePage = (await adminPage(t.app, admin, page)).body;
    assert.match(machinePage, /id="pending-enrollment">A link \(<code data-field="enrollment-tag">code#[A-Za-z0-9_-]{10}<\/code>\) issued by carol at 2026-11-22 12:00 UTC can be used once until 2026-11-22 12:15 UTC/);
    const list = await adminPage(t.app, admin, '/admin/enrollments');
    assert.equal(list.statusCode, 200);
    assert.match(list.body, /<a href="\/admin\/enrollments">Enrollment links<\/a>/, 'in the navigation');
    assert.match(list.body, new RegExp(`<tr data-fqdn="${KIOSK.replace(/\./g, '\\.')}">[\\s\\S]*?<td>carol</td><td>2026-11-22 12:00 UTC</td><td data-field="usable-until">2026-11-22 12:15 UTC</td><td>30</td>`));

    const cancelled = await adminPost(t.app, admin, `${page}/enrollment/cancel`, { back: 'enrollments' }, '/admin/enrollments');
    assert.equal(cancelled.statusCode, 303);
    assert.equal(cancelled.headers.location, '/admin/enrollments?done=cancelled');
    assert.match((await adminPage(t.app, admin, '/admin/enrollments?done=cancelled')).body, /No enrollment link is pending/);
    assert.equal((await eventsOf(t.app, KIOSK)).at(-1)?.action, 'enroll_cancel');
    assert.equal((await eventsOf(t.app, KIOSK)).at(-1)?.actor, ADMIN.name);

    await t.app.webiso.machines.operations.createEnrollment(KIOSK, 30, actor);
    const fromMachinePage = await adminPost(t.app, admin, `${page}/enrollment/cancel`, {}, page);
    assert.equal(fromMachinePage.headers.location, `${page}?done=enrollment-cancelled`);
    assert.match((await adminPage(t.app, admin, String(fromMachinePage.headers.location))).body, /id="no-enrollment"/);
  });
});

describe('enrollment links in the CLI', () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'webiso-enroll-cli-'));
    const config = { issuer: 'https://login.example.edu', dataDir: join(scratch, 'data'), logLevel: 'silent', apps: [{ id: 'app', name: 'App', returnUrls: ['https://app.example.edu/cb'] }] };
    writeFileSync(join(scratch, 'webiso.yaml'), JSON.stringify(config));
    process.env.WEBISO_CONFIG = join(scratch, 'webiso.yaml');
  });
  after(() => {
    delete process.env.WEBISO_CONFIG;
    rmSync(scratch, { recursive: true, force: true });
  });

  async function webiso(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const [log, error] = [console.log, console.error];
    console.log = (...parts: unknown[]) => void out.push(parts.join(' '));
    console.error = (...parts: unknown[]) => void err.push(parts.join(' '));
    try {
      return { code: await runCli(args), out: out.join('\n'), err: err.join('\n') };
    } finally {
      [console.log, console.error] = [log, error];
    }
  }

  it('enroll replaces, enrollments lists, cancel-enrollment cancels', async () => {
    assert.equal((await webiso('machine', 'add', KIOSK)).code, 0);
    assert.equal((await webiso('machine', 'enrollments')).out, 'no pending enrollment links');
    assert.equal((await webiso('machine', 'enroll', KIOSK, '--by', 'carol')).code, 0);
    const again = await webiso('machine', 'enroll', KIOSK, '--by', 'carol');
    assert.match(again.err, /the earlier link code#[A-Za-z0-9_-]{10} of kiosk1\.kiosk\.example\.edu is cancelled/);
    const list = (await webiso('machine', 'enrollments')).out.split('\n');
    assert.equal(list[0], 'FQDN\tLINK\tISSUED BY\tISSUED\tUSABLE UNTIL\tCOOKIE DAYS');
    assert.equal(list.length, 2, 'one pending link per machine');
    assert.match(list[1] ?? '', /^kiosk1\.kiosk\.example\.edu\tcode#\S{10}\tcarol\t\d{4}-\d\d-\d\d \d\d:\d\d UTC\t\d{4}-\d\d-\d\d \d\d:\d\d UTC\t120$/);
    const cancelled = await webiso('machine', 'cancel-enrollment', KIOSK, '--reason', 'wrong kiosk');
    assert.equal(cancelled.code, 0, cancelled.err);
    assert.match(cancelled.out, /^cancelled the enrollment link code#\S{10} of machine kiosk1\.kiosk\.example\.edu$/);
    const none = await webiso('machine', 'cancel-enrollment', KIOSK);
    assert.deepEqual([none.code, none.err], [1, 'webiso: machine kiosk1.kiosk.example.edu has no pending enrollment link']);
    const show = JSON.parse((await webiso('machine', 'show', KIOSK, '--json')).out) as { enrollment: unknown; events: Array<{ action: string; reason: string | null }> };
    assert.equal(show.enrollment, null);
    assert.deepEqual(show.events.filter((event) => event.action === 'enroll_cancel').map((event) => event.reason), ['wrong kiosk', 'replaced by a newer link']);
  });
});

describe('migration 004 on a database that already holds several pending links per machine', () => {
  it('keeps the newest pending link of each machine, cancels the rest and records it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webiso-migration-004-'));
    try {
      const upgrade = migratedUpTo(dir, 4);
      const { db } = upgrade;
      const future = Math.floor(Date.now() / 1000) + 600;
      db.prepare("INSERT INTO machines (fqdn, set_by, set_at, created_by, created_at) VALUES (?, 'x', 1, 'x', 1)").run(KIOSK);
      const link = db.prepare("INSERT INTO machine_enrollments (code_hash, fqdn, lifetime_days, created_by, created_at, expires_at) VALUES (?, ?, 30, 'x', ?, ?)");
      link.run('old-link', KIOSK, 100, future);
      link.run('new-link', KIOSK, 200, future);
      assert.deepEqual(upgrade.apply(), ['004_enrollment_links.sql']);
      const rows = db.prepare('SELECT code_hash, cancelled_by FROM machine_enrollments ORDER BY created_at').all();
      assert.deepEqual(rows, [{ code_hash: 'old-link', cancelled_by: 'migration 004' }, { code_hash: 'new-link', cancelled_by: null }]);
      const events = db.prepare("SELECT action, reason, detail FROM machine_events WHERE fqdn = ?").all(KIOSK);
      assert.deepEqual(events, [{ action: 'enroll_cancel', reason: 'replaced by a newer link', detail: 'code#old-link' }]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
