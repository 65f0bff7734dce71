import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import { auditEvents, CookieJar, HTML, hiddenField, setCookieLines, verifyGrantWithJwks } from '../support/webiso.ts';
import {
  ALICE,
  createMachineTestApp,
  FORM,
  formCsrf,
  KIOSK,
  mintInBrowser,
  requestLogin,
  sightings,
  type MachineTestApp,
} from '../support/machines.ts';

/** A kiosk browser: an admin minted its cookie (with entitlements), then left. */
async function kioskBrowser(t: MachineTestApp): Promise<CookieJar> {
  const jar = new CookieJar();
  await mintInBrowser(t.app, jar, KIOSK, '30', { entitlements: 'library-walk-in, printing', location: 'Main library, ground floor' });
  assert.ok(jar.cookies.has(MACHINE_COOKIE));
  return jar;
}

/** Types a password into the login page the granting request showed. */
async function submitLogin(t: MachineTestApp, jar: CookieJar, loginPage: string, user = ALICE) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/login',
    headers: { ...HTML, ...jar.header(), ...FORM },
    payload: new URLSearchParams({ ctx: hiddenField(loginPage, 'ctx') ?? '', csrf: formCsrf(loginPage, '/login') ?? '', username: user.name, password: user.password }).toString(),
  });
  jar.store(response);
  return { response, grant: hiddenField(response.body, 'grant') };
}

function sessionRows(t: MachineTestApp) {
  return t.app.webiso.store.db.selectFrom('sessions').select(['username', 'idle_seconds', 'absolute_expires_at', 'created_at']).execute();
}

describe('flavor machineoruser', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('answers a kiosk at once with a machine grant: sub "", kind machine, the FQDN, its entitlements, amr machine-cookie', async () => {
    const jar = await kioskBrowser(t);
    const { response, grant, prompted } = await requestLogin(t.app, jar);
    assert.equal(prompted, false, 'no password prompt');
    assert.ok(grant);
    const { payload, protectedHeader } = await verifyGrantWithJwks(t.app, grant, { now: t.app.webiso.now() });
    assert.equal(protectedHeader.typ, 'webiso-grant+jwt');
    assert.equal(payload.sub, '');
    assert.equal(payload.kind, 'machine');
    assert.equal(payload.machineFQDN, KIOSK);
    assert.deepEqual(payload.entitlements, ['library-walk-in', 'printing']);
    assert.deepEqual(payload.amr, ['machine-cookie']);
    assert.equal(payload.flavor, 'machineoruser');
    assert.equal(payload.auth_time, (await t.app.webiso.machines.repository.find(KIOSK))?.setAt, 'auth_time is when the cookie was minted');
    assert.match(response.body, /action="https:\/\/app\.example\.edu\/webiso\/callback"/);
    const issued = (await auditEvents(t.app)).filter((row) => row.event === 'grant.issued').at(-1);
    assert.equal(issued?.username, `machine:${KIOSK}`);
    assert.match(issued?.detail ?? '', /kind=machine/);
  });

  it('records the presentation with IP, user agent, app and outcome', async () => {
    const jar = await kioskBrowser(t);
    await requestLogin(t.app, jar, {}, { remoteAddress: '10.1.2.3', headers: { 'user-agent': 'LibraryKiosk/2.0' } });
    assert.deepEqual((await sightings(t.app)).at(-1), {
      fqdn: KIOSK,
      claimed_fqdn: null,
      client_ip: '10.1.2.3',
      network: '10.1.2.0/24',
      outcome: 'accepted',
      reason: null,
      app_id: 'app',
      user_agent: 'LibraryKiosk/2.0',
      version: 1,
    });
    const summary = await t.app.webiso.machines.sightings.addresses(KIOSK);
    assert.deepEqual(summary.map((row) => [row.clientIp, row.count]), [['10.1.2.3', 1]]);
  });

  it('behaves exactly like basic without a machine cookie: prompt, then a user grant', async () => {
    const jar = new CookieJar();
    const { prompted, response } = await requestLogin(t.app, jar);
    assert.ok(prompted);
    const { grant } = await submitLogin(t, jar, response.body);
    assert.ok(grant);
    const { payload } = await verifyGrantWithJwks(t.app, grant, { now: t.app.webiso.now() });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.kind, 'user');
    assert.equal(payload.machineFQDN, undefined);
    assert.equal((await sightings(t.app)).length, 0, 'no machine cookie, no sighting');
    const sso = await requestLogin(t.app, jar);
    assert.equal(sso.claims?.kind, 'user', 'and SSO on the next request');
  });

  it('force=1 ignores the machine cookie and asks for a person', async () => {
    const jar = await kioskBrowser(t);
    const { prompted, grant, response } = await requestLogin(t.app, jar, { force: '1' });
    assert.ok(prompted);
    assert.equal(grant, undefined);
    assert.equal((await sightings(t.app)).length, 0, 'the cookie was not even looked at');
    const { grant: userGrant } = await submitLogin(t, jar, response.body);
    const { payload } = await verifyGrantWithJwks(t.app, userGrant ?? '', { now: t.app.webiso.now() });
    assert.equal(payload.kind, 'user');
    assert.equal(payload.sub, 'alice');
  });

  it('a valid machine cookie wins over a user session unless force=1', async () => {
    const jar = await kioskBrowser(t);
    const forced = await requestLogin(t.app, jar, { force: '1' });
    await submitLogin(t, jar, forced.response.body);
    assert.equal((await requestLogin(t.app, jar)).claims?.kind, 'machine');
    assert.equal((await requestLogin(t.app, jar, { flavor: 'basic' })).claims?.sub, 'alice', 'basic apps still see the person');
  });

  it('passive=1: the machine if there is one, else a user session, else login_required — never an empty user', async () => {
    const kiosk = await kioskBrowser(t);
    assert.equal((await requestLogin(t.app, kiosk, { passive: '1' })).claims?.kind, 'machine');

    const nobody = await requestLogin(t.app, new CookieJar(), { passive: '1' });
    assert.equal(nobody.grant, undefined);
    assert.equal(nobody.error, 'login_required');
    assert.equal(nobody.prompted, false);

    const revoked = new CookieJar();
    revoked.cookies.set(MACHINE_COOKIE, kiosk.cookies.get(MACHINE_COOKIE) ?? '');
    await t.app.webiso.machines.operations.revoke(KIOSK, { name: 'test' });
    const stale = await requestLogin(t.app, revoked, { passive: '1' });
    assert.equal(stale.error, 'login_required', 'a refused machine cookie is no cookie');
    assert.equal(stale.grant, undefined);

    const desk = new CookieJar();
    const first = await requestLogin(t.app, desk);
    await submitLogin(t, desk, first.response.body);
    const passive = await requestLogin(t.app, desk, { passive: '1' });
    assert.equal(passive.claims?.kind, 'user');
    assert.equal(passive.claims?.sub, 'alice');
  });

  it('a basic-flavor app on a kiosk gets a person: the machine cookie is not a credential there', async () => {
    const jar = await kioskBrowser(t);
    const result = await requestLogin(t.app, jar, { flavor: 'basic' });
    assert.ok(result.prompted);
    assert.equal((await sightings(t.app)).length, 0);
  });

  it('a username equal to an FQDN changes nothing: kinds and subjects stay apart', async () => {
    await t.close();
    t = await createMachineTestApp({ users: [{ name: 'root', password: 'admin correct horse battery', roles: ['admin'] }, { name: KIOSK, password: 'namesake password 123' }] });
    const kiosk = await kioskBrowser(t);
    const machine = await requestLogin(t.app, kiosk);
    const person = new CookieJar();
    const form = await requestLogin(t.app, person);
    const { grant } = await submitLogin(t, person, form.response.body, { name: KIOSK, password: 'namesake password 123' });
    const user = await verifyGrantWithJwks(t.app, grant ?? '', { now: t.app.webiso.now() });
    assert.deepEqual([machine.claims?.kind, machine.claims?.sub, machine.claims?.machineFQDN], ['machine', '', KIOSK]);
    assert.deepEqual([user.payload.kind, user.payload.sub, user.payload.machineFQDN], ['user', KIOSK, undefined]);
  });
});

describe('kiosk policy: short sessions and "end my session"', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('a user session started on a kiosk gets the kiosk lifetimes, enforced server-side', async () => {
    const kiosk = await kioskBrowser(t);
    const form = await requestLogin(t.app, kiosk, { flavor: 'basic' });
    await submitLogin(t, kiosk, form.response.body);
    const desk = new CookieJar();
    const deskForm = await requestLogin(t.app, desk, { flavor: 'basic' });
    await submitLogin(t, desk, deskForm.response.body);
    const [kioskSession, deskSession] = await sessionRows(t);
    assert.equal(kioskSession?.idle_seconds, 600);
    assert.equal((kioskSession?.absolute_expires_at ?? 0) - (kioskSession?.created_at ?? 0), 1800);
    assert.equal(deskSession?.idle_seconds, 1800);
    assert.equal((deskSession?.absolute_expires_at ?? 0) - (deskSession?.created_at ?? 0), 28_800);

    t.clock.advance(601);
    assert.ok((await requestLogin(t.app, kiosk, { flavor: 'basic' })).prompted, 'the kiosk session is gone after 10 idle minutes');
    assert.equal((await requestLogin(t.app, desk, { flavor: 'basic' })).claims?.sub, 'alice', 'the desk session is not');
  });

  it('the login page on a kiosk offers "end my session"; elsewhere it does not', async () => {
    const kiosk = await kioskBrowser(t);
    const page = (await requestLogin(t.app, kiosk, { flavor: 'basic' })).response.body;
    assert.match(page, /id="kiosk-banner"/);
    assert.match(page, /id="kiosk-fqdn">kiosk1\.kiosk\.example\.edu</);
    assert.match(page, /id="end-session"/);
    assert.ok(formCsrf(page, '/logout'));
    assert.ok(hiddenField(page, 'ctx'), 'the usual login form is still there');
    const desk = (await requestLogin(t.app, new CookieJar(), { flavor: 'basic' })).response.body;
    assert.doesNotMatch(desk, /kiosk-banner|end-session/);
  });

  it('"end my session" ends the person\'s session and keeps the machine identity', async () => {
    const kiosk = await kioskBrowser(t);
    const form = await requestLogin(t.app, kiosk, { force: '1' });
    await submitLogin(t, kiosk, form.response.body);
    assert.equal((await sessionRows(t)).length, 1);
    const page = (await requestLogin(t.app, kiosk, { force: '1' })).response.body;
    assert.match(page, /End my session/);
    const machineCookie = kiosk.cookies.get(MACHINE_COOKIE);

    const response = await t.app.inject({ method: 'POST', url: '/logout', headers: { ...HTML, ...kiosk.header(), ...FORM }, payload: new URLSearchParams({ csrf: formCsrf(page, '/logout') ?? '' }).toString() });
    kiosk.store(response);
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /id="kiosk-session-ended"/);
    assert.equal(response.headers['clear-site-data'], '"cache", "storage"', 'no "cookies": that would delete the machine cookie');
    const cleared = setCookieLines(response).filter((line) => line.includes('Max-Age=0')).map((line) => line.split('=')[0]);
    assert.deepEqual(cleared.sort(), ['__Host-webiso_csrf', '__Host-webiso_login']);
    assert.ok(!setCookieLines(response).some((line) => line.startsWith(MACHINE_COOKIE)));
    assert.equal(kiosk.cookies.get(MACHINE_COOKIE), machineCookie);
    assert.equal((await sessionRows(t)).length, 0, 'the session row is deleted');

    assert.equal((await requestLogin(t.app, kiosk)).claims?.kind, 'machine', 'the kiosk is the machine again');
    assert.ok((await requestLogin(t.app, kiosk, { flavor: 'basic' })).prompted, 'and the person is gone');
    assert.match((await auditEvents(t.app)).filter((row) => row.event === 'logout').at(-1)?.detail ?? '', /session deleted \(kiosk kiosk1\.kiosk\.example\.edu\)/);
  });

  it('logout elsewhere still clears every cookie (control)', async () => {
    const desk = new CookieJar();
    const form = await requestLogin(t.app, desk, { flavor: 'basic' });
    await submitLogin(t, desk, form.response.body);
    const page = await t.app.inject({ method: 'GET', url: '/logout', headers: { ...HTML, ...desk.header() } });
    desk.store(page);
    const response = await t.app.inject({ method: 'POST', url: '/logout', headers: { ...HTML, ...desk.header(), ...FORM }, payload: new URLSearchParams({ csrf: hiddenField(page.body, 'csrf') ?? '' }).toString() });
    assert.equal(response.headers['clear-site-data'], '"cookies"');
    assert.doesNotMatch(response.body, /kiosk-session-ended/);
  });

  it('a kiosk whose cookie was revoked or suspended is still a shared browser: kiosk lifetimes, cookie kept at logout', async () => {
    const kiosk = await kioskBrowser(t);
    await t.app.webiso.machines.operations.suspend(KIOSK, { name: 'test' });
    const form = await requestLogin(t.app, kiosk);
    assert.ok(form.prompted, 'no machine identity while suspended');
    assert.match(form.response.body, /id="kiosk-banner"/);
    await submitLogin(t, kiosk, form.response.body);
    assert.equal((await sessionRows(t))[0]?.idle_seconds, 600);
    const page = (await requestLogin(t.app, kiosk, { force: '1' })).response.body;
    const response = await t.app.inject({ method: 'POST', url: '/logout', headers: { ...HTML, ...kiosk.header(), ...FORM }, payload: new URLSearchParams({ csrf: formCsrf(page, '/logout') ?? '' }).toString() });
    kiosk.store(response);
    assert.ok(kiosk.cookies.has(MACHINE_COOKIE), 'reactivating the machine must not need a new cookie');
    await t.app.webiso.machines.operations.reactivate(KIOSK, { name: 'test' });
    assert.equal((await requestLogin(t.app, kiosk)).claims?.kind, 'machine');
  });
});
