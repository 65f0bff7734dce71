import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminLogin, adminPage, adminPost, jarWithMachineCookie, requestLogin, withFreshAdminApp, type MachineTestApp } from '../support/machines.ts';
import { attemptLogin, CookieJar } from '../support/webiso.ts';

const actor = { name: 'cli:ops' };
const DAY = 86_400;

/** The number shown in a dashboard card (data-count) or on the status list (data-state). */
function shown(html: string, attribute: 'data-count' | 'data-state', name: string): number {
  const match = new RegExp(`${attribute}="${name}">(\\d+)<`).exec(html);
  assert.ok(match, `no ${attribute}="${name}"`);
  return Number(match[1]);
}

describe('admin console: the dashboard', () => {
  let t: MachineTestApp;
  let admin: CookieJar;
  withFreshAdminApp((app, jar) => {
    t = app;
    admin = jar;
  });

  /** five machines: expiring in 10 and 20 days, fine for 100, suspended, never minted; one open alert */
  async function populate() {
    const operations = t.app.webiso.machines.operations;
    for (const [fqdn, days] of [['a.kiosk.example.edu', 10], ['b.kiosk.example.edu', 20], ['c.kiosk.example.edu', 100], ['d.kiosk.example.edu', 50]] as const) {
      await operations.add(fqdn, { location: 'Main', networks: ['10.1.0.0/16'] }, actor);
      const { cookie } = await operations.mint(fqdn, days, { name: 'root' });
      await requestLogin(t.app, jarWithMachineCookie(cookie), {}, { remoteAddress: fqdn === 'd.kiosk.example.edu' ? '203.0.113.5' : '10.1.2.3' });
    }
    await operations.add('e.kiosk.example.edu', {}, actor);
    await operations.suspend('d.kiosk.example.edu', actor, 'moved');
    await operations.revoke('c.kiosk.example.edu', actor, 'stolen');
  }

  it('is the admin home: counts by status, expiring within 14 and 30 days, open alerts — as the database has them', async () => {
    await populate();
    const page = await adminPage(t.app, admin, '/admin');
    assert.equal(page.statusCode, 200);
    const { db } = t.app.webiso.store;
    const now = Math.floor(t.app.webiso.now() / 1000);
    const counted = async (query: { executeTakeFirst(): Promise<{ n: number | string } | undefined> }) => Number((await query.executeTakeFirst())?.n ?? 0);
    const openAlerts = await counted(db.selectFrom('machine_alerts').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'open'));
    assert.equal(shown(page.body, 'data-count', 'open-alerts'), openAlerts);
    assert.equal(shown(page.body, 'data-count', 'open-alerts'), 1);
    const expiring = (days: number) =>
      counted(db.selectFrom('machines').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'active').where('expires_at', '>', now).where('expires_at', '<=', now + days * DAY));
    assert.equal(shown(page.body, 'data-count', 'expiring-14'), await expiring(14));
    assert.equal(shown(page.body, 'data-count', 'expiring-30'), await expiring(30));
    assert.deepEqual([await expiring(14), await expiring(30)], [1, 2]);
    assert.equal(shown(page.body, 'data-count', 'machines'), await counted(db.selectFrom('machines').select((eb) => eb.fn.countAll<number>().as('n'))));
    assert.equal(shown(page.body, 'data-state', 'suspended'), 1);
    assert.equal(shown(page.body, 'data-state', 'no-cookie'), 2, 'revoked and never minted');
    assert.equal(shown(page.body, 'data-state', 'expiring'), 1);
    assert.equal(shown(page.body, 'data-state', 'working'), 1);
    assert.match(page.body, /<g data-key="suspended" data-value="1">/, 'the status chart draws the same numbers');
    for (const id of ['chart-status', 'chart-logins', 'chart-changes']) assert.match(page.body, new RegExp(`<svg [^>]*id="${id}"[^>]*role="img" aria-labelledby="${id}-title ${id}-desc"`));
    assert.match(page.body, /<tr data-action="revoke"><td>[^<]+<\/td><td><a href="\/admin\/machines\/c\.kiosk\.example\.edu">/, 'recent revocations');
    assert.match(page.body, /<tr data-action="mint">/, 'recent mints');
    assert.doesNotMatch(page.body, / style="/, 'no inline style attributes (CSP)');
  });

  it('charts logins per hour from the authentication log', async () => {
    await attemptLogin(t.app, { username: 'alice', password: 'typo' });
    await attemptLogin(t.app, { username: 'alice', password: 'correct horse battery staple' });
    const page = await adminPage(t.app, admin, '/admin');
    // root's own admin login, alice's success: 2; alice's typo: 1
    assert.match(page.body, /<desc id="chart-logins-desc">[^<]* logins 2, failed 1<\/desc>/);
    assert.match(page.body, /<title>2026-11-22 12:00 UTC: 2 logins, 1 failed<\/title>/);
  });

  it('lists failing back-channel deliveries', async () => {
    const deliveries = t.app.webiso.logoutDeliveries;
    const now = Math.floor(t.app.webiso.now() / 1000);
    await deliveries.enqueue({ sid: 's1', appId: 'app', channel: 'backchannel', url: 'https://app.example.edu/bc', subject: 'alice', kind: 'user', reason: 'logout' }, now, now + 3600);
    const [claimed] = await deliveries.claimDue(now + 1, 10, now + 60, { skipLocked: t.app.webiso.store.kind === 'postgres' });
    await deliveries.markFailed(claimed!.id, 'connect ECONNREFUSED');
    const page = await adminPage(t.app, admin, '/admin');
    assert.equal(shown(page.body, 'data-count', 'failing-deliveries'), 1);
    assert.match(page.body, /<tr data-app="app"><td>app<\/td><td data-field="pending">0<\/td><td data-field="failed">1<\/td><td>connect ECONNREFUSED<\/td>/);
  });

  it('shows the open-alert count in the navigation of every admin page', async () => {
    await populate();
    for (const path of ['/admin', '/admin/machines', '/admin/history', '/admin/expiring', '/admin/alerts', '/admin/enrollments', '/admin/users', '/admin/machines/a.kiosk.example.edu']) {
      const page = await adminPage(t.app, admin, path);
      assert.equal(page.statusCode, 200, path);
      assert.match(page.body, /<a href="\/admin\/alerts" id="nav-alerts">Alerts <span class="badge" id="nav-alert-count">1<\/span>/, path);
    }
  });

  it('keeps the register form on the dashboard (where an admin at a kiosk lands)', async () => {
    const response = await adminPost(t.app, admin, '/admin/machines', { fqdn: 'new.kiosk.example.edu' }, '/admin');
    assert.equal(response.statusCode, 303);
    assert.ok(await t.app.webiso.machines.repository.find('new.kiosk.example.edu'));
  });
});

describe('admin console: the machine timeline and alerts', () => {
  let t: MachineTestApp;
  let admin: CookieJar;
  withFreshAdminApp((app, jar) => {
    t = app;
    admin = jar;
  });

  async function seenFromTwoPlaces() {
    const operations = t.app.webiso.machines.operations;
    await operations.add('a.kiosk.example.edu', { networks: ['10.1.0.0/16'] }, actor);
    const { cookie } = await operations.mint('a.kiosk.example.edu', 30, actor);
    await requestLogin(t.app, jarWithMachineCookie(cookie), {}, { remoteAddress: '10.1.2.3' });
    t.clock.advance(3 * DAY);
    await requestLogin(t.app, jarWithMachineCookie(cookie), {}, { remoteAddress: '10.1.2.4' });
    t.clock.advance(3600);
    await requestLogin(t.app, jarWithMachineCookie(cookie), {}, { remoteAddress: '198.51.100.7' });
    await operations.revoke('a.kiosk.example.edu', actor, 'test');
    t.clock.advance(60);
    await requestLogin(t.app, jarWithMachineCookie(cookie), {}, { remoteAddress: '10.1.2.4' });
    // the admin session of beforeEach has idled out over these days
    await adminLogin(t.app, admin);
  }

  it('draws one lane per address with presentations, refusals and alerts on one axis, a legend and a table', async () => {
    await seenFromTwoPlaces();
    const page = (await adminPage(t.app, admin, '/admin/machines/a.kiosk.example.edu')).body;
    const lanes = [...page.matchAll(/<g class="lane" data-lane="([^"]+)">/g)].map((m) => m[1]);
    assert.deepEqual(lanes, ['10.1.2.4', '198.51.100.7', '10.1.2.3'], 'most recently seen first');
    assert.match(page, /<g class="lane lane-alerts" data-lane="alerts">.*<g class="mark-alert" data-alert="\d+"><title>alert \d+ outside_networks from 198\.51\.100\.7/);
    assert.match(page, /<g class="legend">.*data-series="Accepted".*data-series="Refused".*data-series="Alert"/);
    assert.match(page, /<polygon points="[^"]+" class="c-bad mark-refused"><title>10\.1\.2\.4, [^<]*: 1 refused<\/title>/);
    assert.match(page, /<tr data-lane="10\.1\.2\.4"><td>10\.1\.2\.4<\/td><td>10\.1\.0\.0\/16<\/td><td data-field="accepted">1<\/td><td data-field="refused">1<\/td>/);
    assert.match(page, /<desc id="timeline-desc">[^<]*10\.1\.2\.4: 1 accepted, 1 refused; 198\.51\.100\.7: 1 accepted, 0 refused; 10\.1\.2\.3: 1 accepted, 0 refused\. Alerts: 1\.<\/desc>/);
  });

  it('changes the period and groups lanes by network', async () => {
    await seenFromTwoPlaces();
    const day = (await adminPage(t.app, admin, '/admin/machines/a.kiosk.example.edu?days=1')).body;
    assert.deepEqual([...day.matchAll(/<g class="lane" data-lane="([^"]+)">/g)].map((m) => m[1]), ['10.1.2.4', '198.51.100.7'], 'the first sighting is 3 days old');
    assert.match(day, /<strong aria-current="true">24 hours<\/strong>/);
    const networks = (await adminPage(t.app, admin, '/admin/machines/a.kiosk.example.edu?by=network')).body;
    assert.deepEqual([...networks.matchAll(/<g class="lane" data-lane="([^"]+)">/g)].map((m) => m[1]), ['10.1.0.0/16', '198.51.100.0/24']);
    const odd = await adminPage(t.app, admin, '/admin/machines/a.kiosk.example.edu?days=5000&by=x');
    assert.equal(odd.statusCode, 200, 'an unknown period falls back to 30 days');
    assert.match(odd.body, /<strong aria-current="true">30 days<\/strong>/);
  });

  it('closing an alert from the alerts list comes back to the alerts list', async () => {
    await seenFromTwoPlaces();
    const [alert] = await t.app.webiso.machines.alerts.list('open');
    assert.ok(alert);
    const list0 = (await adminPage(t.app, admin, '/admin/alerts')).body;
    const form = list0.slice(list0.indexOf(`action="/admin/alerts/${alert.id}/close"`));
    assert.match(form.slice(0, form.indexOf('</form>')), /<input type="hidden" name="back" value="alerts">/, 'the form says where it was sent from');
    const closed = await adminPost(t.app, admin, `/admin/alerts/${alert.id}/close`, { back: 'alerts' }, '/admin/alerts');
    assert.equal(closed.statusCode, 303);
    assert.equal(closed.headers.location, '/admin/alerts?done=alert-closed');
    const list = await adminPage(t.app, admin, String(closed.headers.location));
    assert.match(list.body, /id="done">The alert was closed\./);
    assert.doesNotMatch(list.body, /id="nav-alert-count"/, 'no open alert is left to count');
    assert.equal((await t.app.webiso.machines.alerts.list('open')).length, 0);
  });

  it('asks for a confirmation before "Revoke every cookie" (a required checkbox)', async () => {
    await seenFromTwoPlaces();
    const page = (await adminPage(t.app, admin, '/admin/machines/a.kiosk.example.edu')).body;
    const form = page.slice(page.indexOf('id="revoke-form"'), page.indexOf('id="revoke-submit"'));
    assert.match(form, /<input type="checkbox" id="revoke-confirm" name="confirm" value="yes" required>/);
  });
});
