import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { formatRelative, formatTime } from '../src/time-format.ts';
import { CookieJar, HTML, hiddenField, loginThroughForm } from './support/webiso.ts';
import { adminLogin, adminPage, createMachineTestApp, FORM, KIOSK, type MachineTestApp } from './support/machines.ts';

const HOUR = 3600;
const DAY = 86_400;
const ONE_FORMAT = /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/;

describe('one date format', () => {
  it('is UTC to the minute, with the zone said', () => {
    assert.equal(formatTime(Date.UTC(2026, 11, 6, 7, 59, 59) / 1000), '2026-12-06 07:59 UTC');
    assert.equal(formatTime(0), '1970-01-01 00:00 UTC');
    assert.equal(formatTime(null), '—');
    assert.equal(formatTime(undefined, '-'), '-');
    assert.equal(formatTime(1e300, '?'), '?', 'beyond the calendar');
  });

  it('says how far away an expiry is, rounded to the nearest unit', () => {
    const now = 1_800_000_000;
    assert.equal(formatRelative(now + 4 * DAY + 23 * HOUR, now), 'in 5 days', 'not "in 4 days"');
    assert.equal(formatRelative(now + 4 * DAY + 11 * HOUR, now), 'in 4 days');
    assert.equal(formatRelative(now + 2 * DAY, now), 'in 2 days');
    assert.equal(formatRelative(now + 47 * HOUR + 40 * 60, now), 'in 2 days', 'rounds up into days');
    assert.equal(formatRelative(now + 36 * HOUR, now), 'in 36 hours');
    assert.equal(formatRelative(now + HOUR, now), 'in 1 hour');
    assert.equal(formatRelative(now + 59 * 60 + 50, now), 'in 1 hour', '59 min 50 s');
    assert.equal(formatRelative(now + 90, now), 'in 2 minutes');
    assert.equal(formatRelative(now + 30, now), 'in less than a minute');
    assert.equal(formatRelative(now - 3 * DAY, now), '3 days ago');
    assert.equal(formatRelative(now - 60, now), '1 minute ago');
  });
});

describe('the pages use it', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
    await t.app.webiso.machines.operations.add(KIOSK, {}, { name: 'cli:ops' });
  });
  after(async () => t?.close());

  it('the machine page and the expiring list: a cookie that expires in 4 days 23 hours expires "in 5 days"', async () => {
    await t.app.webiso.machines.operations.mint(KIOSK, 5, { name: 'cli:ops' });
    t.clock.advance(HOUR);
    const admin = new CookieJar();
    await adminLogin(t.app, admin);
    const page = (await adminPage(t.app, admin, `/admin/machines/${KIOSK}`)).body;
    assert.match(page, /data-field="expires">2026-11-27 12:00 UTC \(<span data-field="expires-in">in 5 days<\/span>\)</);
    assert.match(page, /data-field="set-by">cli:ops at 2026-11-22 12:00 UTC</);
    const expiring = (await adminPage(t.app, admin, '/admin/expiring')).body;
    assert.match(expiring, /data-field="expires">2026-11-27 12:00 UTC<\/td><td data-field="expires-in">in 5 days</);
    const times = [...page.matchAll(/<td>(\d{4}-\d\d-\d\d[^<]*)<\/td>/g)].map((match) => match[1]!);
    assert.ok(times.length > 0);
    for (const time of times) assert.match(time, ONE_FORMAT);
  });

  it('the kiosk "enrolled" page and its confirmation page', async () => {
    const { url } = await t.app.webiso.machines.operations.createEnrollment(KIOSK, 30, { name: 'cli:ops' });
    const path = new URL(url).pathname;
    const jar = new CookieJar();
    const confirm = await t.app.inject({ method: 'GET', url: path, headers: HTML });
    jar.store(confirm);
    assert.match(confirm.body, /until 2026-11-22 12:15 UTC;/);
    const enrolled = await t.app.inject({ method: 'POST', url: path, headers: { ...HTML, ...jar.header(), ...FORM }, payload: new URLSearchParams({ csrf: hiddenField(confirm.body, 'csrf') ?? '' }).toString() });
    assert.equal(enrolled.statusCode, 200);
    assert.match(enrolled.body, /id="kiosk-enrolled">The machine cookie \(version 1\) is installed and valid until 2026-12-22 12:00 UTC\./);
  });

  it('the home page', async () => {
    const { jar } = await loginThroughForm(t.app, { username: 'alice', password: 'correct horse battery staple' });
    const home = await t.app.inject({ method: 'GET', url: '/', headers: { ...HTML, ...jar.header() } });
    assert.match(home.body, /since 2026-11-22 12:00 UTC\./);
    assert.match(home.body, /ends at 2026-11-22 \d\d:\d\d UTC at the latest/);
  });
});
