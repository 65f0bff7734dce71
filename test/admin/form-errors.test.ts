import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { auditEvents, CookieJar, HTML, hiddenField } from '../support/webiso.ts';
import { ADMIN, ALICE, addMachine, adminLogin, adminPage, adminPost, countRows, createMachineTestApp, KIOSK, postForm, sessionCount, withFreshAdminApp, type MachineTestApp } from '../support/machines.ts';

/** The element with this id, and the markup right after it up to the next label or button. */
function fieldWithError(html: string, id: string): string {
  const start = html.search(new RegExp(`<(input|textarea)[^>]*id="${id}"`));
  assert.ok(start >= 0, `no field #${id}`);
  const end = html.slice(start + 1).search(/<label|<button/);
  return html.slice(start, start + 1 + end);
}

const inAdminLayout = (html: string) => /<nav class="admin">[\s\S]*id="admin-user">root</.test(html);

describe('admin forms: refusals come back on the page, beside the field, with what was typed', () => {
  let t: MachineTestApp;
  let admin: CookieJar;
  withFreshAdminApp((app, jar) => {
    t = app;
    admin = jar;
  });

  it('a bad FQDN on the register form: 400 inside the console, the message after the name field, every value kept', async () => {
    const response = await addMachine(t.app, admin, 'bad_name.kiosk.example.edu', { location: 'Reading room <2>', networks: '10.1.0.0/16', entitlements: 'walk-in' });
    assert.equal(response.statusCode, 400);
    assert.ok(inAdminLayout(response.body), 'rendered in the admin layout, not the bare error page');
    assert.doesNotMatch(response.body, /<title>Request refused<\/title>/);
    const fqdn = fieldWithError(response.body, 'fqdn');
    assert.match(fqdn, /value="bad_name\.kiosk\.example\.edu" aria-invalid="true" aria-describedby="add-fqdn-error">/);
    assert.match(fqdn, /<p class="field-error" id="add-fqdn-error" role="alert" data-error-code="invalid_machine_input">Invalid machine name: each dot-separated part/);
    assert.match(fieldWithError(response.body, 'location'), /value="Reading room &lt;2&gt;">\s*$/, 'kept, escaped, and not marked invalid');
    assert.match(response.body, /<textarea id="networks" name="networks" rows="2">10\.1\.0\.0\/16<\/textarea>/);
    assert.match(fieldWithError(response.body, 'entitlements'), /value="walk-in"/);
    assert.equal(await countRows(t.app, 'machines'), 0);
  });

  it('an FQDN outside the minting policy: 403 beside the name field, values kept, still audited', async () => {
    const response = await addMachine(t.app, admin, 'pc2.staff.example.edu', { location: 'Staff room' });
    assert.equal(response.statusCode, 403);
    assert.ok(inAdminLayout(response.body));
    assert.match(fieldWithError(response.body, 'fqdn'), /id="add-fqdn-error" role="alert" data-error-code="mint_not_allowed">The mint policy does not let root register a machine for pc2\.staff\.example\.edu/);
    assert.match(fieldWithError(response.body, 'location'), /value="Staff room"/);
    assert.ok((await auditEvents(t.app)).some((row) => row.event === 'request.rejected' && /register a machine refused by the mint policy/.test(row.detail ?? '')));
  });

  it('a duplicate name is reported beside the name field (409)', async () => {
    await addMachine(t.app, admin, KIOSK);
    const response = await addMachine(t.app, admin, KIOSK.toUpperCase());
    assert.equal(response.statusCode, 409);
    assert.match(fieldWithError(response.body, 'fqdn'), /data-error-code="machine_exists">A machine named kiosk1\.kiosk\.example\.edu already exists/);
  });

  it('the machine page keeps the typed details and names the bad network; the mint form keeps the days', async () => {
    await addMachine(t.app, admin, KIOSK, { location: 'Old place', networks: '10.1.0.0/16' });
    const page = `/admin/machines/${KIOSK}`;
    const details = await adminPost(t.app, admin, `${page}/details`, { location: 'New place', networks: '10.2.0.0/16\nlibrary', entitlements: 'a, b' }, page);
    assert.equal(details.statusCode, 400);
    assert.ok(inAdminLayout(details.body));
    assert.match(details.body, /<h1 id="machine-fqdn">kiosk1\.kiosk\.example\.edu<\/h1>/);
    assert.match(details.body, /<textarea id="networks" name="networks" rows="3" aria-invalid="true" aria-describedby="details-networks-error">10\.2\.0\.0\/16\nlibrary<\/textarea>\s*<p class="field-error" id="details-networks-error" role="alert" data-error-code="invalid_machine_input">&quot;library&quot; is not a network/);
    assert.match(fieldWithError(details.body, 'location'), /value="New place">/);
    assert.deepEqual((await t.app.webiso.machines.repository.find(KIOSK))?.networks, ['10.1.0.0/16'], 'nothing saved');

    const mint = await adminPost(t.app, admin, `${page}/mint`, { days: '9999' }, page);
    assert.equal(mint.statusCode, 400);
    assert.match(fieldWithError(mint.body, 'days'), /value="9999" required aria-invalid="true" aria-describedby="mint-days-error">[\s\S]*id="mint-days-error" role="alert" data-error-code="invalid_machine_input">The lifetime must be between 1 and 120 days/);
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.version, 0);

    const reason = await adminPost(t.app, admin, `${page}/revoke`, { reason: 'x'.repeat(301) }, page);
    assert.equal(reason.statusCode, 400);
    assert.match(fieldWithError(reason.body, 'revoke-reason'), /aria-describedby="revoke-reason-error">[\s\S]*The reason is at most 300 characters/);
  });

  it('API clients still get the JSON error', async () => {
    const page = (await adminPage(t.app, admin, '/admin')).body;
    const response = await postForm(t.app, admin, '/admin/machines', { csrf: hiddenField(page.slice(page.indexOf('id="add-machine"')), 'csrf') ?? '', fqdn: 'bad_name' }, { accept: 'application/json' });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error, 'invalid_machine_input');
  });

  it('a CSRF failure stays an error page: it is not something to fix in the form', async () => {
    const response = await postForm(t.app, admin, '/admin/machines', { csrf: 'forged', fqdn: KIOSK });
    assert.equal(response.statusCode, 403);
    assert.match(response.body, /id="error-code">csrf_invalid</);
  });
});

describe('admin pages: a logged-in user without the admin role', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('gets a page that says so and offers to log in as someone else', async () => {
    const jar = new CookieJar();
    await adminLogin(t.app, jar, ALICE);
    const response = await adminPage(t.app, jar, '/admin/expiring');
    assert.equal(response.statusCode, 403);
    assert.match(response.body, /id="not-admin">You are logged in as <strong id="current-user">alice<\/strong>, who does not have the <code>admin<\/code> role/);
    assert.match(response.body, /id="error-code">admin_required</);
    assert.match(response.body, /<form method="post" action="\/admin\/switch-user" id="switch-user">/);
    assert.equal(hiddenField(response.body, 'next'), '/admin/expiring');

    const switched = await postForm(t.app, jar, '/admin/switch-user', { csrf: hiddenField(response.body, 'csrf') ?? '', next: '/admin/expiring' });
    assert.equal(switched.statusCode, 303);
    assert.equal(switched.headers.location, '/admin/login?next=%2Fadmin%2Fexpiring');
    assert.equal(await sessionCount(t.app, 'alice'), 0, "alice's session is over");
    const form = await adminPage(t.app, jar, String(switched.headers.location));
    assert.match(form.body, /name="username"/, 'the login form asks who is logging in');
    const login = await postForm(t.app, jar, '/admin/login', { csrf: hiddenField(form.body, 'csrf') ?? '', next: '/admin/expiring', username: ADMIN.name, password: ADMIN.password });
    assert.equal(login.headers.location, '/admin/expiring');
    assert.equal((await adminPage(t.app, jar, '/admin/expiring')).statusCode, 200);
  });

  it('cannot switch without the form token', async () => {
    const jar = new CookieJar();
    await adminLogin(t.app, jar, ALICE);
    assert.equal((await postForm(t.app, jar, '/admin/switch-user', { csrf: 'forged' })).statusCode, 403);
    assert.equal(await sessionCount(t.app, 'alice'), 1);
  });
});

describe('admin pages refuse a password in the URL, as /login does', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('GET /admin/login?password=… is a 400 password_in_url; no form is shown', async () => {
    for (const name of ['password', 'PASS', 'pwd', 'passwd']) {
      const response = await t.app.inject({ method: 'GET', url: `/admin/login?next=%2Fadmin&${name}=secret`, headers: HTML });
      assert.equal(response.statusCode, 400, name);
      assert.match(response.body, /id="error-code">password_in_url</);
      assert.doesNotMatch(response.body, /type="password"/);
    }
  });

  it('POST /admin/login?password=… checks nothing and starts no session, even with the right password in the body', async () => {
    const jar = new CookieJar();
    const form = await t.app.inject({ method: 'GET', url: '/admin/login', headers: HTML });
    jar.store(form);
    const response = await postForm(t.app, jar, `/admin/login?password=${encodeURIComponent(ADMIN.password)}`, { csrf: hiddenField(form.body, 'csrf') ?? '', next: '/admin', username: ADMIN.name, password: ADMIN.password });
    assert.equal(response.statusCode, 400);
    assert.match(response.body, /id="error-code">password_in_url</);
    assert.equal(await countRows(t.app, 'sessions'), 0);
    assert.ok(!(await auditEvents(t.app)).some((row) => row.event === 'login.success' || row.event === 'login.failure'), 'no password was checked');
  });

  it('every admin page refuses it too, for admins and before the login redirect', async () => {
    const anonymous = await t.app.inject({ method: 'GET', url: '/admin?pass=x', headers: HTML });
    assert.equal(anonymous.statusCode, 400);
    const admin = new CookieJar();
    await adminLogin(t.app, admin);
    const page = await adminPage(t.app, admin, `/admin/machines/${KIOSK}?password=x`);
    assert.equal(page.statusCode, 400);
    assert.match(page.body, /id="error-code">password_in_url</);
  });
});
