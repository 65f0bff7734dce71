import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { csvField } from '../../src/admin/csv.ts';
import { adminPage, countRows, formCsrf, FORM, jarWithMachineCookie, requestLogin, withFreshAdminApp, type MachineTestApp } from '../support/machines.ts';
import { csvRecords, parseCsv } from '../support/csv-parse.ts';
import { CookieJar, HTML } from '../support/webiso.ts';

const cli = { name: 'cli:ops' };
const iso = (seconds: number | null) => (seconds === null ? '' : new Date(seconds * 1000).toISOString());

/** A form POST with repeated fields (several fqdn=…), as a browser sends checked boxes. */
async function postPairs(app: FastifyInstance, jar: CookieJar, url: string, pairs: Array<[string, string]>) {
  const response = await app.inject({ method: 'POST', url, headers: { ...HTML, ...jar.header(), ...FORM }, payload: new URLSearchParams(pairs).toString() });
  jar.store(response);
  return response;
}

describe('admin console: history, CSV exports, bulk actions', () => {
  let t: MachineTestApp;
  let admin: CookieJar;
  withFreshAdminApp((app, jar) => {
    t = app;
    admin = jar;
  });

  async function populate() {
    const operations = t.app.webiso.machines.operations;
    // values a naive CSV writer would break: comma, quote, non-ASCII, a formula (line breaks: the escaper test)
    await operations.add('a.kiosk.example.edu', { location: 'Main library, 2nd floor "east"', networks: ['10.1.0.0/16', '10.2.0.0/16'], entitlements: ['walk-in'] }, cli);
    await operations.add('b.kiosk.example.edu', { location: 'Biblioteca – sala ñ' }, { name: 'root', ip: '192.0.2.9' });
    const { cookie } = await operations.mint('a.kiosk.example.edu', 30, { name: 'root', ip: '192.0.2.9' });
    await requestLogin(t.app, jarWithMachineCookie(cookie), {}, { remoteAddress: '10.1.2.3', headers: { 'user-agent': 'Kiosk, "quoted" UA' } });
    await operations.revoke('a.kiosk.example.edu', { name: 'carol', ip: '192.0.2.10' }, '=cmd|stolen');
    await operations.suspend('b.kiosk.example.edu', cli, 'moved');
  }

  const csrfOf = async (page: string, action: string) => formCsrf((await adminPage(t.app, admin, page)).body, action) ?? '';

  it('the history page lists every machine, filtered by kind, machine, actor and date', async () => {
    await populate();
    const all = (await adminPage(t.app, admin, '/admin/history')).body;
    const actions = (html: string) => [...html.matchAll(/<tr data-event="\d+" data-action="([a-z_]+)">/g)].map((m) => m[1]);
    assert.deepEqual(actions(all), ['suspend', 'revoke', 'mint', 'add', 'add']);
    assert.match(all, /data-field="actor">carol<\/td><td>192\.0\.2\.10<\/td><td>=cmd\|stolen<\/td>/, 'by whom, from where, why');
    assert.deepEqual(actions((await adminPage(t.app, admin, '/admin/history?kind=revocations')).body), ['revoke']);
    assert.deepEqual(actions((await adminPage(t.app, admin, '/admin/history?kind=suspensions')).body), ['suspend']);
    assert.deepEqual(actions((await adminPage(t.app, admin, '/admin/history?fqdn=B.KIOSK')).body), ['suspend', 'add']);
    assert.deepEqual(actions((await adminPage(t.app, admin, '/admin/history?actor=root')).body), ['mint', 'add']);
    assert.deepEqual(actions((await adminPage(t.app, admin, '/admin/history?actor=%25')).body), [], '% is taken literally');
    assert.deepEqual(actions((await adminPage(t.app, admin, '/admin/history?to=2026-11-21')).body), []);
    assert.deepEqual(actions((await adminPage(t.app, admin, '/admin/history?from=2026-11-22&to=2026-11-22')).body).length, 5);
    for (const bad of ['kind=everything', 'from=22.11.2026', 'fqdn=' + 'x'.repeat(101), 'kind=all&kind=mints']) {
      const response = await adminPage(t.app, admin, `/admin/history?${bad}`);
      assert.equal(response.statusCode, 400, bad);
      assert.match(response.body, /id="error-code">invalid_request</, `a readable 400 page for ${bad}`);
    }
  });

  it('exports machines as CSV that parses back to the same rows', async () => {
    await populate();
    const response = await adminPage(t.app, admin, '/admin/export/machines.csv');
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/csv; charset=utf-8/);
    assert.match(String(response.headers['content-disposition']), /^attachment; filename="webiso-machines-2026-11-22\.csv"$/);
    const records = csvRecords(response.body);
    const expected = (await t.app.webiso.machines.repository.list()).map((m) => ({
      fqdn: m.fqdn, location: m.location ?? '', status: m.status, version: String(m.version), set_by: m.setBy, set_at: iso(m.setAt), expires_at: iso(m.expiresAt),
      last_seen: iso(m.lastSeen), last_ip: m.lastIp ?? '', open_alerts: String(m.openAlerts), networks: m.networks.join(' '), entitlements: m.entitlements.join(' '), created_by: m.createdBy, created_at: iso(m.createdAt),
    }));
    assert.deepEqual(records, expected);
    assert.equal(records[0]?.location, 'Main library, 2nd floor "east"');
    assert.equal(records[1]?.location, 'Biblioteca – sala ñ');
  });

  it('exports the history (with the page filters) and the presentations as CSV', async () => {
    await populate();
    const history = csvRecords((await adminPage(t.app, admin, '/admin/export/history.csv?kind=revocations')).body);
    assert.deepEqual(history, [{ at: iso(Math.floor(t.app.webiso.now() / 1000)), fqdn: 'a.kiosk.example.edu', action: 'revoke', version: '2', actor: 'carol', client_ip: '192.0.2.10', reason: "'=cmd|stolen", detail: '' }], 'a formula is defused with a leading apostrophe');
    const all = csvRecords((await adminPage(t.app, admin, '/admin/export/history.csv')).body);
    assert.equal(all.length, await countRows(t.app, 'machine_events'));
    const sightings = csvRecords((await adminPage(t.app, admin, '/admin/export/sightings.csv?fqdn=a.kiosk.example.edu&days=7')).body);
    assert.equal(sightings.length, 1);
    assert.deepEqual([sightings[0]?.client_ip, sightings[0]?.network, sightings[0]?.outcome, sightings[0]?.user_agent], ['10.1.2.3', '10.1.0.0/16', 'accepted', 'Kiosk, "quoted" UA']);
    assert.equal((await adminPage(t.app, admin, '/admin/export/sightings.csv?days=0')).statusCode, 400);
    assert.equal((await adminPage(t.app, admin, '/admin/export/sightings.csv?fqdn=not_a_name')).statusCode, 400);
    const anonymous = await t.app.inject({ method: 'GET', url: '/admin/export/machines.csv', headers: { accept: 'text/csv' } });
    assert.equal(anonymous.statusCode, 401, 'exports are admin pages too');
  });

  it('the CSV escaper round-trips every awkward value', () => {
    const values = ['', 'plain', 'a,b', 'say "hi"', 'line\nbreak', 'cr\r\nlf', ' spaced ', 'ünï', '"', ',', '@sum', '+1', '-2', '\tx'];
    const line = `${values.map(csvField).join(',')}\r\n`;
    const [row] = parseCsv(line);
    assert.deepEqual(row, values.map((value) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value)));
  });

  it('bulk suspend and revoke show a confirmation first, then act with the admin as actor', async () => {
    await populate();
    await t.app.webiso.machines.operations.reactivate('b.kiosk.example.edu', cli, null);
    const csrf = await csrfOf('/admin/machines', '/admin/bulk');
    const pairs: Array<[string, string]> = [['csrf', csrf], ['action', 'suspend'], ['reason', 'inventory'], ['fqdn', 'a.kiosk.example.edu'], ['fqdn', 'b.kiosk.example.edu']];
    const confirm = await postPairs(t.app, admin, '/admin/bulk', pairs);
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /<input type="checkbox" id="bulk-confirm" name="confirm" value="yes" required>/);
    assert.match(confirm.body, /<input type="hidden" name="fqdn" value="a\.kiosk\.example\.edu"><input type="hidden" name="fqdn" value="b\.kiosk\.example\.edu">/);
    assert.equal((await t.app.webiso.machines.repository.find('a.kiosk.example.edu'))?.status, 'active', 'nothing changed before the confirmation');
    const done = await postPairs(t.app, admin, '/admin/bulk', [...pairs, ['confirm', 'yes']]);
    assert.equal(done.statusCode, 200);
    assert.match(done.body, /<tr data-fqdn="b\.kiosk\.example\.edu">.*data-field="outcome">suspended</);
    for (const fqdn of ['a.kiosk.example.edu', 'b.kiosk.example.edu']) {
      assert.equal((await t.app.webiso.machines.repository.find(fqdn))?.status, 'suspended');
      const [last] = await t.app.webiso.machines.repository.events(fqdn, 1);
      assert.deepEqual([last?.action, last?.actor, last?.clientIp, last?.reason], ['suspend', 'root', '127.0.0.1', 'inventory'], 'audited per machine');
    }
    const before = (await t.app.webiso.machines.repository.find('a.kiosk.example.edu'))!.version;
    await postPairs(t.app, admin, '/admin/bulk', [['csrf', csrf], ['action', 'revoke'], ['fqdn', 'a.kiosk.example.edu'], ['confirm', 'yes']]);
    assert.equal((await t.app.webiso.machines.repository.find('a.kiosk.example.edu'))!.version, before + 1);
  });

  it('bulk enrollment links: a printable sheet with a QR code per machine, one pending link each, a recent password needed', async () => {
    await populate();
    await t.app.webiso.machines.operations.add('pc1.staff.example.edu', {}, cli);
    const csrf = await csrfOf('/admin/machines', '/admin/bulk');
    const pairs: Array<[string, string]> = [['csrf', csrf], ['action', 'enroll'], ['days', '20'], ['fqdn', 'a.kiosk.example.edu'], ['fqdn', 'b.kiosk.example.edu'], ['fqdn', 'pc1.staff.example.edu']];
    const sheet = await postPairs(t.app, admin, '/admin/bulk', pairs);
    assert.equal(sheet.statusCode, 200);
    const cards = [...sheet.body.matchAll(/<article data-fqdn="([^"]+)">[\s\S]*?<svg [^>]*viewBox[\s\S]*?<\/svg>[\s\S]*?<code data-field="url">([^<]+)<\/code>/g)];
    assert.deepEqual(cards.map((m) => m[1]), ['a.kiosk.example.edu', 'b.kiosk.example.edu']);
    for (const card of cards) assert.match(card[2]!, /^https:\/\/login\.example\.edu\/machines\/enroll\/[A-Za-z0-9_-]{20,}$/);
    assert.match(sheet.body, /<li data-fqdn="pc1\.staff\.example\.edu">pc1\.staff\.example\.edu: The mint policy does not let root/, 'outside the mint policy: refused, said so');
    assert.deepEqual((await t.app.webiso.machines.operations.pendingEnrollments()).map((link) => link.fqdn).sort(), ['a.kiosk.example.edu', 'b.kiosk.example.edu']);
    const again = await postPairs(t.app, admin, '/admin/bulk', pairs);
    assert.equal(again.statusCode, 200);
    assert.equal((await t.app.webiso.machines.operations.pendingEnrollments()).length, 2, 'a new link cancels the old one');

    t.clock.advance(t.app.webiso.config.machines.reauthSeconds + 1);
    const stale = await postPairs(t.app, admin, '/admin/bulk', pairs);
    assert.equal(stale.statusCode, 303);
    assert.equal(stale.headers.location, '/admin/login?next=%2Fadmin%2Fmachines');
  });

  it('bulk actions refuse a forged form, an empty selection and an unknown action with readable pages', async () => {
    await populate();
    const forged = await postPairs(t.app, admin, '/admin/bulk', [['csrf', 'forged'], ['action', 'revoke'], ['fqdn', 'a.kiosk.example.edu'], ['confirm', 'yes']]);
    assert.equal(forged.statusCode, 403);
    assert.equal((await t.app.webiso.machines.repository.find('a.kiosk.example.edu'))?.version, 2, 'nothing revoked');
    const csrf = await csrfOf('/admin/machines', '/admin/bulk');
    const none = await postPairs(t.app, admin, '/admin/bulk', [['csrf', csrf], ['action', 'suspend']]);
    assert.equal(none.statusCode, 400);
    assert.match(none.body, /Select at least one machine/);
    assert.equal((await postPairs(t.app, admin, '/admin/bulk', [['csrf', csrf], ['action', 'delete'], ['fqdn', 'a.kiosk.example.edu']])).statusCode, 400);
    assert.equal((await postPairs(t.app, admin, '/admin/bulk', [['csrf', csrf], ['action', 'suspend'], ['fqdn', 'zz.kiosk.example.edu']])).statusCode, 404);
  });
});
