import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startApacheCas, parseCgiEnv, type ApacheCas } from '../support/apache-cas.ts';
import { launchChromium } from '../support/browser.ts';
import { casEvents, giveMachineCookie, logIn, reserveWebiso, startCasWebiso, watchPasswordPrompts, type CasWebiso } from '../support/cas-webiso.ts';

// Real Chromium, real Apache + mod_auth_cas (Debian), webiso as the CAS server on loopback.
const ALICE = { name: 'alice', password: 'alice correct horse battery', roles: ['library', 'staff'] };
const FQDN = 'kiosk7.library.example.edu';

describe('browser: Apache mod_auth_cas against webiso', () => {
  let apache: ApacheCas;
  let cas: CasWebiso;
  let browser: Browser;
  let person: BrowserContext;
  let page: Page;
  let prompts: { count: () => number };
  /** every URL the person's browser requested with a ticket in it */
  const ticketUrls: string[] = [];

  before(async () => {
    const address = await reserveWebiso();
    apache = await startApacheCas({ loginUrl: `${address.casLoginBase}/login`, casBase: address.casBackChannel });
    const { p3, v2, v1 } = apache.urls;
    cas = await startCasWebiso(address, {
      users: [ALICE],
      apps: [
        { id: 'apache', name: 'Apache test site', returnUrls: [], flavors: ['basic'], cas: { services: [`${p3}/secure/`, `${p3}/other/`, `${p3}/renew/`, `${v2}/secure/`, `${v1}/secure/`], flavor: 'basic' } },
        { id: 'apache-kiosk', name: 'Apache kiosk pages', returnUrls: [], flavors: ['machineoruser'], cas: { services: [`${p3}/kiosk/`, `${p3}/machines-only/`], flavor: 'machineoruser' } },
      ],
    });
    browser = await launchChromium();
    person = await browser.newContext();
    page = await person.newPage();
    prompts = watchPasswordPrompts(page, cas.webisoUrl);
    page.on('request', (request) => {
      if (/[?&]ticket=ST-/.test(request.url())) ticketUrls.push(request.url());
    });
  });
  after(async () => {
    await browser?.close();
    await cas?.close();
    await apache?.stop();
  });

  /** The CGI's view of the request; the error log is in the message when it is not what we expect. */
  async function cgiEnv(p: Page): Promise<Record<string, string>> {
    return parseCgiEnv(await p.innerText('body'));
  }
  const why = async () => `apache error log:\n${await apache.readErrorLog()}`;
  const validated = async (endpoint: string) => (await casEvents(cas.webiso)).filter((e) => e.event === 'cas.ticket.validated' && e.detail?.startsWith(`endpoint=${endpoint} `));

  it('a person is sent to the webiso form and comes back with REMOTE_USER and the CAS attributes (CAS 3 path)', async () => {
    const target = `${apache.urls.p3}/secure/page?x=1`;
    await page.goto(target);
    assert.ok(page.url().startsWith(`${cas.webisoUrl}/cas/login?service=`), page.url());
    await logIn(page, ALICE, target);
    const env = await cgiEnv(page);
    assert.equal(env.REMOTE_USER, 'alice', await why());
    assert.equal(env.HTTP_CAS_PRINCIPALTYPE, 'user');
    assert.equal(env.HTTP_CAS_ISFROMNEWLOGIN, 'true');
    assert.equal(env.HTTP_CAS_WEBISOFLAVOR, 'basic');
    assert.equal(env.HTTP_CAS_ROLES, 'library,staff', 'one element per role, joined by mod_auth_cas');
    assert.match(env.HTTP_CAS_AUTHENTICATIONDATE ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(prompts.count(), 1);
    assert.deepEqual((await validated('/cas/p3/serviceValidate')).map((e) => [e.username, e.appId]), [['alice', 'apache']]);
  });

  it('a second location uses the SSO session: no prompt, isFromNewLogin=false', async () => {
    await page.goto(`${apache.urls.p3}/other/`);
    assert.equal(page.url(), `${apache.urls.p3}/other/`);
    const env = await cgiEnv(page);
    assert.equal(env.REMOTE_USER, 'alice', await why());
    assert.equal(env.HTTP_CAS_ISFROMNEWLOGIN, 'false');
    assert.equal(prompts.count(), 1, 'no second password prompt');
  });

  it('the CAS 2 (/cas/serviceValidate) and CAS 1 (/cas/validate) virtual hosts validate at their own endpoints', async () => {
    await page.goto(`${apache.urls.v2}/secure/`);
    const v2 = await cgiEnv(page);
    assert.equal(v2.REMOTE_USER, 'alice', await why());
    assert.equal(v2.HTTP_CAS_PRINCIPALTYPE, 'user', 'CAS 2 XML carries the attributes too');
    await page.goto(`${apache.urls.v1}/secure/`);
    const v1 = await cgiEnv(page);
    assert.equal(v1.REMOTE_USER, 'alice', await why());
    assert.equal(v1.HTTP_CAS_PRINCIPALTYPE, undefined, 'CAS 1 has no attributes');
    assert.equal((await validated('/cas/serviceValidate')).length, 1);
    assert.equal((await validated('/cas/validate')).length, 1);
    assert.equal(prompts.count(), 1);
  });

  it('a ticket seen in the browser, replayed in another browser, is refused (401)', async () => {
    const seen = ticketUrls.find((url) => url.startsWith(`${apache.urls.p3}/`));
    assert.ok(seen, `a ticket URL was seen: ${ticketUrls.join(' ')}`);
    const thief = await browser.newContext();
    try {
      const response = await (await thief.newPage()).goto(seen);
      assert.equal(response?.status(), 401);
    } finally {
      await thief.close();
    }
    const refused = (await casEvents(cas.webiso)).filter((e) => e.event === 'cas.ticket.refused');
    assert.deepEqual(refused.map((e) => e.detail), ['endpoint=/cas/p3/serviceValidate code=INVALID_TICKET']);
  });

  it('/machines-only/ (Require cas-attribute principalType:machine) refuses a person', async () => {
    const response = await page.goto(`${apache.urls.p3}/machines-only/`);
    assert.equal(response?.status(), 401, await why());
    const last = (await validated('/cas/p3/serviceValidate')).at(-1);
    assert.deepEqual([last?.username, last?.appId, last?.detail], ['alice', 'apache-kiosk', 'endpoint=/cas/p3/serviceValidate kind=user']);
    assert.equal(prompts.count(), 1, 'the SSO session answered, no prompt');
  });

  it('/renew/ (CASRenew) asks for the password again despite the SSO session', async () => {
    const target = `${apache.urls.p3}/renew/`;
    await page.goto(target);
    assert.ok(page.url().startsWith(`${cas.webisoUrl}/cas/login?`), page.url());
    assert.match(page.url(), /[?&]renew=true/);
    assert.ok(await page.isVisible('#password'));
    await logIn(page, ALICE, target);
    const env = await cgiEnv(page);
    assert.equal(env.REMOTE_USER, 'alice', await why());
    assert.equal(env.HTTP_CAS_ISFROMNEWLOGIN, 'true');
    assert.equal(prompts.count(), 2);
  });

  it('a kiosk with a machine cookie gets the machine identity at /kiosk/ and /machines-only/, with no prompt', async () => {
    const kiosk = await browser.newContext();
    try {
      await giveMachineCookie(cas.webiso, kiosk, FQDN, { entitlements: ['library-walk-in', 'printing'], location: 'Main library, 1st floor' });
      const kioskPage = await kiosk.newPage();
      const kioskPrompts = watchPasswordPrompts(kioskPage, cas.webisoUrl);

      await kioskPage.goto(`${apache.urls.p3}/kiosk/`);
      assert.equal(kioskPage.url(), `${apache.urls.p3}/kiosk/`);
      const env = await cgiEnv(kioskPage);
      assert.equal(env.REMOTE_USER, `host/${FQDN}`, await why());
      assert.equal(env.HTTP_CAS_PRINCIPALTYPE, 'machine');
      assert.equal(env.HTTP_CAS_MACHINEFQDN, FQDN);
      assert.equal(env.HTTP_CAS_MACHINELOCATION, 'Main library, 1st floor');
      assert.equal(env.HTTP_CAS_ENTITLEMENT, 'library-walk-in,printing');
      assert.equal(env.HTTP_CAS_WEBISOFLAVOR, 'machineoruser');

      const admitted = await kioskPage.goto(`${apache.urls.p3}/machines-only/`);
      assert.equal(admitted?.status(), 200, await why());
      assert.equal((await cgiEnv(kioskPage)).HTTP_CAS_PRINCIPALTYPE, 'machine');
      assert.equal(kioskPrompts.count(), 0);

      // a basic-flavor location wants a person even at the kiosk
      await kioskPage.goto(`${apache.urls.p3}/secure/`);
      assert.ok(kioskPage.url().startsWith(`${cas.webisoUrl}/cas/login?`), kioskPage.url());
      assert.ok(await kioskPage.isVisible('#password'));
    } finally {
      await kiosk.close();
    }
    const machine = (await casEvents(cas.webiso)).filter((e) => e.event === 'cas.ticket.validated' && e.username === `host/${FQDN}`);
    assert.deepEqual(machine.map((e) => e.detail), ['endpoint=/cas/p3/serviceValidate kind=machine', 'endpoint=/cas/p3/serviceValidate kind=machine']);
  });
});
