import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseCgiEnv } from '../support/apache-cas.ts';
import { launchChromium } from '../support/browser.ts';
import { casEvents, giveMachineCookie, logIn, reserveWebiso, startCasWebiso, watchPasswordPrompts, type CasWebiso } from '../support/cas-webiso.ts';
import { startSamlChain, type SamlChain } from '../support/saml-chain.ts';

// The mission chain in real Chromium: Shibboleth SP 3 -> SimpleSAMLphp IdP -> webiso CAS (machineoruser).
const ALICE = { name: 'alice', password: 'alice correct horse battery' };
const WALK_IN = 'kiosk1.library.example.edu';
const STAFF_PC = 'desk3.library.example.edu';

describe('browser: library walk-in through a SAML IdP backed by webiso CAS', () => {
  let chain: SamlChain;
  let cas: CasWebiso;
  let browser: Browser;

  before(async () => {
    const address = await reserveWebiso();
    chain = await startSamlChain({ casLoginBase: address.casLoginBase, casBase: address.casBackChannel });
    cas = await startCasWebiso(address, {
      users: [ALICE],
      apps: [{ id: 'library-idp', name: 'Library SAML IdP', returnUrls: [], flavors: ['machineoruser'], cas: { services: [chain.casService], flavor: 'machineoruser' } }],
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await cas?.close();
    await chain?.stop();
  });

  const why = async () => `logs:\n${await chain.readLogs()}`;

  /** Opens an SP page and follows the whole chain (redirects and the IdP's auto-posting form) back to it. */
  async function openSp(page: Page, path: string): Promise<number | undefined> {
    const target = `${chain.spUrl}${path}`;
    const arrived = page.waitForResponse((r) => r.url() === target && r.request().method() === 'GET' && r.status() !== 302, { timeout: 10_000 });
    await page.goto(target, { waitUntil: 'commit' });
    const response = await arrived;
    await page.waitForLoadState('load');
    return response.status();
  }

  async function kioskContext(fqdn: string, entitlements: string[]): Promise<{ context: BrowserContext; page: Page; prompts: { count: () => number } }> {
    const context = await browser.newContext();
    await giveMachineCookie(cas.webiso, context, fqdn, { entitlements, location: 'Main library, entrance' });
    const page = await context.newPage();
    return { context, page, prompts: watchPasswordPrompts(page, cas.webisoUrl) };
  }

  it('a walk-in kiosk reaches the SP as library-walk-in@example.edu, with no person identifier and no prompt', async () => {
    const { context, page, prompts } = await kioskContext(WALK_IN, ['library-walk-in']);
    try {
      assert.equal(await openSp(page, '/secure/'), 200, await why());
      const env = parseCgiEnv(await page.innerText('body'));
      assert.equal(env.affiliation, 'library-walk-in@example.edu', await why());
      assert.equal(env.REMOTE_USER, '', 'no person identifier');
      assert.deepEqual([env.eppn, env.persistent_id, env.subject_id, env.pairwise_id], [undefined, undefined, undefined, undefined]);
      assert.equal(env.Shib_Identity_Provider, chain.idpEntityId);
      assert.equal(prompts.count(), 0);

      const walkin = await page.goto(`${chain.spUrl}/walkin/`);
      assert.equal(walkin?.status(), 200, 'Require shib-attr affiliation library-walk-in@example.edu admits the kiosk');
    } finally {
      await context.close();
    }
    const validated = (await casEvents(cas.webiso)).filter((e) => e.event === 'cas.ticket.validated');
    assert.deepEqual(validated.map((e) => [e.username, e.appId, e.detail]), [[`host/${WALK_IN}`, 'library-idp', 'endpoint=/cas/serviceValidate kind=machine']]);
  });

  it('a kiosk without the library-walk-in entitlement gets no affiliation and is refused at /walkin/', async () => {
    const { context, page, prompts } = await kioskContext(STAFF_PC, ['printing']);
    try {
      assert.equal(await openSp(page, '/secure/'), 200, await why());
      const env = parseCgiEnv(await page.innerText('body'));
      assert.deepEqual([env.affiliation, env.REMOTE_USER], [undefined, ''], await why());
      assert.equal(prompts.count(), 0);
      const walkin = await page.goto(`${chain.spUrl}/walkin/`);
      assert.ok([401, 403].includes(walkin?.status() ?? 0), `refused, got ${walkin?.status()}`);
    } finally {
      await context.close();
    }
  });

  it('without a machine cookie the webiso form asks for a person, who arrives as member@example.edu and is refused at /walkin/', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const prompts = watchPasswordPrompts(page, cas.webisoUrl);
      await page.goto(`${chain.spUrl}/secure/`);
      assert.ok(page.url().startsWith(`${cas.webisoUrl}/cas/login?service=`), page.url());
      assert.ok(page.url().includes(encodeURIComponent(chain.casService)), 'the service is SimpleSAMLphp linkback');
      await logIn(page, ALICE, `${chain.spUrl}/secure/`);
      const env = parseCgiEnv(await page.innerText('body'));
      assert.equal(env.affiliation, 'member@example.edu', await why());
      assert.equal(env.eppn, 'alice@example.edu');
      assert.equal(env.REMOTE_USER, 'alice@example.edu');
      assert.equal(prompts.count(), 1);
      const walkin = await page.goto(`${chain.spUrl}/walkin/`);
      assert.ok([401, 403].includes(walkin?.status() ?? 0), `refused, got ${walkin?.status()}`);
    } finally {
      await context.close();
    }
    const last = (await casEvents(cas.webiso)).filter((e) => e.event === 'cas.ticket.validated').at(-1);
    assert.deepEqual([last?.username, last?.detail], ['alice', 'endpoint=/cas/serviceValidate kind=user']);
  });
});
