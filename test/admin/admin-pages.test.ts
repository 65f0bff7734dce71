import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { GENERIC_LOGIN_FAILURE } from '../../src/login/routes.ts';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import type { PasswordVerifier } from '../../src/verifiers/verifier.ts';
import { auditEvents, CookieJar, createTestApp, fakeClock, HTML, hiddenField, loginThroughForm, setCookieLines } from '../support/webiso.ts';
import {
  ADMIN,
  ALICE,
  addMachine,
  adminLogin,
  adminPage,
  adminPost,
  countRows,
  createMachineTestApp,
  eventsOf,
  formCsrf,
  jarWithMachineCookie,
  KIOSK,
  machineConfig,
  mintInBrowser,
  postForm,
  requestLogin,
  sessionCount,
  type MachineTestApp,
  withFreshAdminApp,
} from '../support/machines.ts';

const JSON_ACCEPT = { accept: 'application/json' };
const actor = { name: 'cli:ops' };

describe('admin pages: who gets in', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('sends a browser without a session to /admin/login and back; API clients get a 401', async () => {
    const browser = await t.app.inject({ method: 'GET', url: `/admin/machines/${KIOSK}`, headers: HTML });
    assert.equal(browser.statusCode, 303);
    assert.equal(browser.headers.location, `/admin/login?next=%2Fadmin%2Fmachines%2F${encodeURIComponent(KIOSK)}`);
    const api = await t.app.inject({ method: 'GET', url: '/admin', headers: JSON_ACCEPT });
    assert.equal(api.statusCode, 401);
    assert.equal(api.json().error, 'login_required');
    const jar = new CookieJar();
    const login = await adminLogin(t.app, jar, ADMIN, '/admin/expiring');
    assert.equal(login.statusCode, 303);
    assert.equal(login.headers.location, '/admin/expiring');
    assert.equal((await adminPage(t.app, jar, '/admin/expiring')).statusCode, 200);
    const row = (await auditEvents(t.app)).find((event) => event.event === 'login.success');
    assert.deepEqual([row?.username, row?.app_id], ['root', 'webiso-admin']);
  });

  it('never redirects outside the admin pages after login', async () => {
    for (const next of ['https://evil.example/admin', '//evil.example', '/admin/../logout', '/admin/machines/..', '/admin?x=1', 'javascript:alert(1)', '/admin//evil']) {
      const jar = new CookieJar();
      const response = await adminLogin(t.app, jar, ADMIN, next);
      assert.equal(response.headers.location, '/admin', next);
    }
  });

  it('refuses users without the admin role with a 403, and audits it', async () => {
    const jar = new CookieJar();
    await adminLogin(t.app, jar, ALICE);
    const response = await adminPage(t.app, jar, '/admin');
    assert.equal(response.statusCode, 403);
    assert.match(response.body, /admin_required/);
    const rejected = (await auditEvents(t.app)).filter((event) => event.event === 'request.rejected').at(-1);
    assert.equal(rejected?.username, 'alice');
    assert.match(rejected?.detail ?? '', /admin role required for GET \/admin/);
    const post = await postForm(t.app, jar, '/admin/machines', { fqdn: KIOSK, csrf: 'x' });
    assert.equal(post.statusCode, 403);
    assert.equal(await t.app.webiso.machines.repository.find(KIOSK), undefined);
  });

  it("accepts an admin's SSO session from an ordinary app login (same origin)", async () => {
    const { jar } = await loginThroughForm(t.app, { username: ADMIN.name, password: ADMIN.password, query: { flavor: 'basic' } });
    const response = await adminPage(t.app, jar, '/admin');
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /id="admin-user">root</);
    assert.match(response.body, /action="\/logout"/, 'a visible logout on every admin page');
  });

  it('shares the login throttle and the generic failure message', async () => {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      assert.equal((await adminLogin(t.app, new CookieJar(), { name: 'root', password: 'wrong password' })).statusCode, 401);
    }
    const response = await adminLogin(t.app, new CookieJar(), ADMIN);
    assert.equal(response.statusCode, 401, 'throttled even with the right password');
    assert.ok(response.body.includes(GENERIC_LOGIN_FAILURE));
  });
});

describe('admin pages: the machine list, a machine, expiring soon, alerts', () => {
  let t: MachineTestApp;
  let admin: CookieJar;
  withFreshAdminApp((app, jar) => {
    t = app;
    admin = jar;
  });

  async function populate() {
    const operations = t.app.webiso.machines.operations;
    for (const [fqdn, days, location] of [['a.kiosk.example.edu', 100, 'Main library'], ['b.kiosk.example.edu', 10, 'Branch'], ['c.kiosk.example.edu', 50, 'Annex']] as const) {
      await operations.add(fqdn, { location, networks: ['10.1.0.0/16'] }, actor);
      const { cookie } = await operations.mint(fqdn, days, { name: fqdn === 'b.kiosk.example.edu' ? 'carol' : 'root' });
      t.clock.advance(60);
      await requestLogin(t.app, jarWithMachineCookie(cookie), {}, { remoteAddress: fqdn === 'c.kiosk.example.edu' ? '203.0.113.5' : '10.1.2.3' });
    }
    await operations.suspend('c.kiosk.example.edu', actor, 'alert');
  }

  it('lists machines with version, status, set by, set at, expiry, last seen, last IP and open alerts', async () => {
    await populate();
    const page = await adminPage(t.app, admin, '/admin/machines');
    assert.equal(page.statusCode, 200);
    const row = /<tr data-fqdn="c\.kiosk\.example\.edu">([\s\S]*?)<\/tr>/.exec(page.body)?.[1] ?? '';
    assert.match(row, /data-field="version">1</);
    assert.match(row, /data-field="status" class="status-suspended">suspended</);
    assert.match(row, /data-field="set-by">root</);
    assert.match(row, /data-field="expires">2027-01-11 12:02 UTC</);
    assert.match(row, /data-field="last-seen">2026-11-22 12:03 UTC</);
    assert.match(row, /data-field="last-ip">203\.0\.113\.5</);
    assert.match(row, /data-field="open-alerts" class="alerts-open">1</);
    for (const title of ['Machine', 'Version', 'Status', 'Set by', 'Set at', 'Expires', 'Last seen', 'Last IP', 'Open alerts']) assert.match(page.body, new RegExp(`>${title}</a>`));
  });

  it('sorts and filters on the server', async () => {
    await populate();
    const order = (html: string) => [...html.matchAll(/<tr data-fqdn="([^"]+)">/g)].map((match) => match[1]);
    assert.deepEqual(order((await adminPage(t.app, admin, '/admin/machines?sort=expiresAt&dir=asc')).body), ['b.kiosk.example.edu', 'c.kiosk.example.edu', 'a.kiosk.example.edu']);
    assert.deepEqual(order((await adminPage(t.app, admin, '/admin/machines?sort=expiresAt&dir=desc')).body), ['a.kiosk.example.edu', 'c.kiosk.example.edu', 'b.kiosk.example.edu']);
    assert.deepEqual(order((await adminPage(t.app, admin, '/admin/machines?status=suspended')).body), ['c.kiosk.example.edu']);
    assert.deepEqual(order((await adminPage(t.app, admin, '/admin/machines?q=branch')).body), ['b.kiosk.example.edu']);
    assert.deepEqual(order((await adminPage(t.app, admin, '/admin/machines?q=carol')).body), ['b.kiosk.example.edu']);
    const bad = await adminPage(t.app, admin, '/admin/machines?sort=password');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /id="error-code">invalid_request</);
    // the list used to live at /admin: its sorted and filtered links still lead there
    const old = await adminPage(t.app, admin, '/admin?sort=expiresAt&dir=desc');
    assert.equal(old.statusCode, 301);
    assert.equal(old.headers.location, '/admin/machines?sort=expiresAt&dir=desc');
  });

  it("shows a machine's cookie history (who, when, from where), claimed addresses, a timeline and its alerts", async () => {
    await populate();
    const page = await adminPage(t.app, admin, '/admin/machines/c.kiosk.example.edu');
    assert.equal(page.statusCode, 200);
    const history = /<table id="history"[^>]*>([\s\S]*?)<\/table>/.exec(page.body)?.[1] ?? '';
    assert.match(history, /data-field="action">mint<\/td><td>1<\/td><td data-field="actor">root</);
    assert.match(history, /data-field="action">suspend</);
    assert.match(history, /data-field="action">add<\/td><td>0<\/td><td data-field="actor">cli:ops</);
    assert.match(page.body, /<tr data-ip="203\.0\.113\.5"><td>203\.0\.113\.5<\/td><td>203\.0\.113\.0\/24<\/td>/);
    assert.match(page.body, /<svg [^>]*id="timeline"/);
    assert.match(page.body, /<g class="lane" data-lane="203\.0\.113\.5">/, 'a timeline lane per claimed address');
    assert.match(page.body, /<title>203\.0\.113\.5, 2026-11-22 [0-9:]+ UTC to 2026-11-22 [0-9:]+ UTC: 1 accepted<\/title>/);
    assert.match(page.body, /data-rule="outside_networks"/);
    assert.doesNotMatch(page.body, / style="/, 'no inline style attributes (CSP)');
  });

  it('answers 404 for an unknown machine and 400 for a name that is not one', async () => {
    assert.equal((await adminPage(t.app, admin, '/admin/machines/nobody.kiosk.example.edu')).statusCode, 404);
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    assert.equal((await adminPage(t.app, admin, `/admin/machines/${longest}`)).statusCode, 404, 'a 253-character name reaches the handler');
    for (const name of [`${longest}x`, 'bad_name.example.edu', 'a..b']) {
      const bad = await adminPage(t.app, admin, `/admin/machines/${name}`);
      assert.equal(bad.statusCode, 400, name);
      assert.match(bad.body, /invalid_machine_input/);
    }
  });

  it('lists the cookies expiring soon, soonest first', async () => {
    await populate();
    const page = await adminPage(t.app, admin, '/admin/expiring');
    assert.deepEqual([...page.body.matchAll(/<tr data-fqdn="([^"]+)">/g)].map((match) => match[1]), ['b.kiosk.example.edu']);
    const longer = await adminPage(t.app, admin, '/admin/expiring?days=60');
    assert.deepEqual([...longer.body.matchAll(/<tr data-fqdn="([^"]+)">/g)].map((match) => match[1]), ['b.kiosk.example.edu', 'c.kiosk.example.edu']);
  });

  it('lists open alerts and closes one through a CSRF-protected form', async () => {
    await populate();
    const page = await adminPage(t.app, admin, '/admin/alerts');
    const id = /data-alert="(\d+)"/.exec(page.body)?.[1];
    assert.ok(id);
    const response = await adminPost(t.app, admin, `/admin/alerts/${id}/close`, {}, '/admin/alerts');
    assert.equal(response.statusCode, 303);
    assert.equal((await t.app.webiso.machines.alerts.find(Number(id)))?.status, 'closed');
    assert.equal((await t.app.webiso.machines.alerts.find(Number(id)))?.closedBy, 'root');
    assert.doesNotMatch((await adminPage(t.app, admin, '/admin/alerts')).body, /data-alert=/);
  });

  it('registers, edits, revokes, suspends and reactivates through the forms', async () => {
    const added = await addMachine(t.app, admin, KIOSK, { location: 'Ground floor', networks: '10.1.0.0/16\n2001:db8:1::/48', entitlements: 'library-walk-in' });
    assert.equal(added.statusCode, 303);
    assert.equal(added.headers.location, `/admin/machines/${KIOSK}?done=added`);
    assert.match((await adminPage(t.app, admin, String(added.headers.location))).body, /id="done">The machine was added/);
    assert.deepEqual((await t.app.webiso.machines.repository.find(KIOSK))?.networks, ['10.1.0.0/16', '2001:db8:1::/48']);
    const page = `/admin/machines/${KIOSK}`;
    await adminPost(t.app, admin, `${page}/details`, { location: 'First floor', networks: '10.2.0.0/16', entitlements: 'a, b' }, page);
    assert.deepEqual((await t.app.webiso.machines.repository.find(KIOSK))?.entitlements, ['a', 'b']);
    await adminPost(t.app, admin, `${page}/revoke`, { reason: 'lost' }, page);
    await adminPost(t.app, admin, `${page}/suspend`, { reason: 'moved' }, page);
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.status, 'suspended');
    await adminPost(t.app, admin, `${page}/reactivate`, {}, page);
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.status, 'active');
    assert.deepEqual((await eventsOf(t.app, KIOSK)).map((event) => event.action), ['add', 'update', 'revoke', 'suspend', 'reactivate']);
  });

  it('refuses bad input with a 400 and writes nothing; a duplicate is a 409', async () => {
    const invalid: Array<Record<string, string>> = [{ networks: 'library' }, { networks: '10.1.0.0/40' }, { entitlements: 'walk in!' }, { location: 'x'.repeat(201) }, { fqdn: 'bad_name.kiosk.example.edu' }];
    for (const fields of invalid) {
      const response = await addMachine(t.app, admin, KIOSK, fields);
      assert.equal(response.statusCode, 400, JSON.stringify(fields));
      assert.match(response.body, /invalid_machine_input/);
    }
    assert.equal(await countRows(t.app, 'machines'), 0);
    assert.equal(await countRows(t.app, 'machine_events'), 0);
    await addMachine(t.app, admin, KIOSK);
    const duplicate = await addMachine(t.app, admin, KIOSK.toUpperCase());
    assert.equal(duplicate.statusCode, 409);
  });

  it('answers API clients with JSON', async () => {
    await addMachine(t.app, admin, KIOSK);
    const page = (await adminPage(t.app, admin, `/admin/machines/${KIOSK}`)).body;
    const response = await postForm(t.app, admin, `/admin/machines/${KIOSK}/revoke`, { csrf: formCsrf(page, `/admin/machines/${KIOSK}/revoke`) ?? '' }, JSON_ACCEPT);
    assert.equal(response.statusCode, 200);
    assert.deepEqual([response.json().ok, response.json().outcome, response.json().machine.version], [true, 'revoked', 1]);
    const bad = await postForm(t.app, admin, `/admin/machines/${KIOSK}/mint`, { csrf: formCsrf(page, `/admin/machines/${KIOSK}/mint`) ?? '', days: 'lots' }, JSON_ACCEPT);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error, 'invalid_machine_input');
  });
});

describe('admin pages: minting needs CSRF, POST, the policy and a recent password', () => {
  let t: MachineTestApp;
  let admin: CookieJar;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
    admin = new CookieJar();
    await adminLogin(t.app, admin);
    await addMachine(t.app, admin, KIOSK);
  });
  after(async () => t?.close());

  const page = `/admin/machines/${KIOSK}`;
  const mintUrl = `${page}/mint`;
  const version = async () => (await t.app.webiso.machines.repository.find(KIOSK))?.version;

  it('refuses a POST without the admin CSRF token, with another form\'s token, and any GET', async () => {
    const html = (await adminPage(t.app, admin, page)).body;
    assert.equal((await postForm(t.app, admin, mintUrl, { days: '10' })).statusCode, 403);
    assert.equal((await postForm(t.app, admin, mintUrl, { days: '10', csrf: formCsrf(html, '/logout') ?? '' })).statusCode, 403);
    const stranger = new CookieJar();
    await adminLogin(t.app, stranger);
    assert.equal((await postForm(t.app, stranger, mintUrl, { days: '10', csrf: formCsrf(html, mintUrl) ?? '' })).statusCode, 403, "a token from another browser's page");
    assert.equal((await adminPage(t.app, admin, mintUrl)).statusCode, 404);
    assert.equal(await version(), 0);
  });

  it('refuses an FQDN outside the mint policy with a clear 403, audited', async () => {
    await t.app.webiso.machines.operations.add('pc1.staff.example.edu', {}, actor);
    const html = (await adminPage(t.app, admin, '/admin/machines/pc1.staff.example.edu')).body;
    assert.match(html, /id="mint-denied"/);
    const response = await postForm(t.app, admin, '/admin/machines/pc1.staff.example.edu/mint', { days: '10', csrf: formCsrf(html, '/admin/machines/pc1.staff.example.edu/revoke') ?? '' });
    assert.equal(response.statusCode, 403);
    assert.match(response.body, /id="mint-error" role="alert" data-error-code="mint_not_allowed">The mint policy does not let root mint a cookie for pc1\.staff\.example\.edu/);
    assert.match(response.body, /id="admin-user">root</, 'the refusal is shown inside the admin pages');
    assert.ok(!setCookieLines(response).some((line) => line.startsWith(MACHINE_COOKIE)));
    assert.deepEqual((await eventsOf(t.app, 'pc1.staff.example.edu')).at(-1), { action: 'mint_denied', actor: 'root', version: null, client_ip: '127.0.0.1', reason: 'mint a cookie refused by the mint policy', detail: null });
    assert.equal((await t.app.webiso.machines.repository.find('pc1.staff.example.edu'))?.version, 0);
    const add = await addMachine(t.app, admin, 'pc2.staff.example.edu');
    assert.equal(add.statusCode, 403);
    assert.equal(await t.app.webiso.machines.repository.find('pc2.staff.example.edu'), undefined);
  });

  it('sends an admin whose password is older than machines.reauthSeconds through a re-login first', async () => {
    t.clock.advance(301);
    const html = (await adminPage(t.app, admin, page)).body;
    assert.match(html, /id="mint-reauth"/);
    const refused = await postForm(t.app, admin, mintUrl, { days: '10', csrf: formCsrf(html, `${page}/revoke`) ?? '' });
    assert.equal(refused.statusCode, 303);
    assert.equal(refused.headers.location, `/admin/login?next=${encodeURIComponent(page)}`);
    assert.equal(await version(), 0, 'nothing minted');

    const form = await adminPage(t.app, admin, String(refused.headers.location));
    assert.match(form.body, /id="current-user">root</);
    // only a hidden, read-only username for password managers: the server uses the session's
    assert.match(form.body, /<input type="text" name="username" id="confirm-username" value="root" autocomplete="username" hidden readonly>/);
    assert.doesNotMatch(form.body, /<label for="username">/, 'the re-login cannot switch accounts');
    const before = admin.cookies.get('__Host-webiso_login');
    const confirmed = await postForm(t.app, admin, '/admin/login', { csrf: hiddenField(form.body, 'csrf') ?? '', next: page, password: ADMIN.password, username: 'alice' });
    assert.equal(confirmed.headers.location, page);
    assert.notEqual(admin.cookies.get('__Host-webiso_login'), before, 'a new session id after the password entry');
    assert.equal(await sessionCount(t.app, 'root'), 1, 'the old session row is gone');

    const minted = await adminPost(t.app, admin, mintUrl, { days: '10' }, page);
    assert.equal(minted.statusCode, 200);
    assert.equal(await version(), 1);
    const json = await postForm(t.app, new CookieJar(), mintUrl, { days: '1' }, JSON_ACCEPT);
    assert.equal(json.statusCode, 401, 'API clients without a session get a 401');
  });

  it('a wrong password at the re-login mints nothing', async () => {
    t.clock.advance(301);
    const form = await adminPage(t.app, admin, `/admin/login?next=${encodeURIComponent(page)}`);
    const response = await postForm(t.app, admin, '/admin/login', { csrf: hiddenField(form.body, 'csrf') ?? '', next: page, password: 'not it' });
    assert.equal(response.statusCode, 401);
    assert.match((await adminPage(t.app, admin, page)).body, /id="mint-reauth"/);
  });
});

describe('admin pages: mint-policy rules that name directory groups', () => {
  it('asks for the password once to learn the groups, then allows the mint', async () => {
    const groupsOf: Record<string, string[]> = { dave: ['Lab-Admins'] };
    const verifier: PasswordVerifier = {
      kind: 'ldap',
      async verify(username, password) {
        if (username !== 'dave' || password !== 'dave password 123') return { ok: false, reason: 'invalid_credentials' };
        return { ok: true, user: { username: 'dave', roles: ['admin'], groups: groupsOf.dave, amr: ['pwd'] } };
      },
    };
    const config = machineConfig({}, { mintPolicy: [{ groups: ['lab-admins'], fqdns: ['*.lab.example.edu'] }] });
    const testApp = await createTestApp({ config, users: [], verifier, now: fakeClock().now });
    const { app } = testApp;
    try {
      await app.webiso.machines.operations.add('pc3.lab.example.edu', {}, actor);
      const { jar } = await loginThroughForm(app, { username: 'dave', password: 'dave password 123', query: { flavor: 'basic' } });
      const page = '/admin/machines/pc3.lab.example.edu';
      const html = (await adminPage(app, jar, page)).body;
      assert.match(html, /id="mint-reauth"/, 'an app login records no groups: confirm the password here');
      const form = await adminPage(app, jar, `/admin/login?next=${encodeURIComponent(page)}`);
      await postForm(app, jar, '/admin/login', { csrf: hiddenField(form.body, 'csrf') ?? '', next: page, password: 'dave password 123' });
      const minted = await adminPost(app, jar, `${page}/mint`, { days: '5' }, page);
      assert.equal(minted.statusCode, 200);
      assert.equal((await app.webiso.machines.repository.find('pc3.lab.example.edu'))?.setBy, 'dave');

      groupsOf.dave = ['other'];
      const second = new CookieJar();
      await adminLogin(app, second, { name: 'dave', password: 'dave password 123' }, page);
      assert.match((await adminPage(app, second, page)).body, /id="mint-denied"/, 'groups are re-read at each password entry');
    } finally {
      await testApp.close();
    }
  });
});

describe('admin pages: minted in the kiosk browser, the kiosk works without a password', () => {
  it('mint then machineoruser', async () => {
    const t = await createMachineTestApp();
    try {
      const kiosk = new CookieJar();
      await mintInBrowser(t.app, kiosk);
      const result = await requestLogin(t.app, kiosk);
      assert.equal(result.prompted, false);
      assert.equal(result.claims?.machineFQDN, KIOSK);
    } finally {
      await t.close();
    }
  });
});
