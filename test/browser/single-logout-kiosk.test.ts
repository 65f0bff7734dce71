import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseCgiEnv } from '../support/apache-cas.ts';
import { launchChromium } from '../support/browser.ts';
import { giveMachineCookie, logIn, watchPasswordPrompts } from '../support/cas-webiso.ts';
import { countSessions, startSingleLogoutStack, type SingleLogoutStack } from '../support/single-logout-stack.ts';

// Issue 8, kiosk: nothing of one patron is left for the next, in the demo app (back-channel logout
// token) nor in Apache mod_auth_cas (CAS logoutRequest), after "End my session".
const BOB = { name: 'bob', password: 'bob correct horse battery' };
const FQDN = 'kiosk3.library.example.edu';
const APP_SESSION_COOKIE = '__Host-webiso_app_session';
const APACHE_COOKIE = 'MOD_AUTH_CAS_P3';

describe('browser: single logout at a kiosk (demo app + Apache mod_auth_cas)', () => {
  let stack: SingleLogoutStack;
  let browser: Browser;
  let kiosk: BrowserContext;
  let page: Page;

  before(async () => {
    stack = await startSingleLogoutStack({ users: [BOB] });
    browser = await launchChromium();
    kiosk = await browser.newContext();
    await giveMachineCookie(stack.webiso, kiosk, FQDN, { entitlements: ['library-walk-in'], location: 'Main library' });
    page = await kiosk.newPage();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  const why = async () => `deliveries: ${JSON.stringify(await stack.deliveries())}\napache error log:\n${await stack.apache.readErrorLog()}`;
  const cookieNames = async (url: string) => (await kiosk.cookies(url)).map((cookie) => cookie.name);

  it('the kiosk is its machine; patron bob logs in to the demo app and, without a prompt, to Apache', async () => {
    await page.goto(`${stack.demoUrl}/kiosk`);
    await page.waitForURL(`${stack.demoUrl}/kiosk`);
    assert.equal(await page.textContent('[data-field="machine"]'), FQDN);

    // /private needs a person: the kiosk's machine identity is not enough, webiso asks
    const prompts = watchPasswordPrompts(page, stack.webisoUrl);
    await page.goto(`${stack.demoUrl}/private`);
    assert.ok(page.url().startsWith(`${stack.webisoUrl}/login?`), page.url());
    assert.equal(await page.textContent('#kiosk-fqdn'), FQDN);
    await logIn(page, BOB, `${stack.demoUrl}/private`);
    assert.equal(await page.textContent('[data-field="username"]'), 'bob');

    await page.goto(stack.apacheSecure);
    assert.equal(page.url(), stack.apacheSecure, 'the SSO session answered');
    assert.equal(parseCgiEnv(await page.innerText('body')).REMOTE_USER, 'bob', await why());
    assert.equal(prompts.count(), 1, 'one password prompt for both apps');
  });

  it('"End my session" ends webiso\'s session; the ended page names both apps as logged out', async () => {
    // an app insisting on a fresh personal login (force=1) shows webiso's login page with the kiosk button
    const forced = new URLSearchParams({ appid: 'demo', return: `${stack.demoUrl}/webiso/callback`, flavor: 'basic', nonce: 'kiosk-slo-nonce', force: '1' });
    await page.goto(`${stack.webisoUrl}/login?${forced.toString()}`);
    assert.equal(await page.textContent('#end-session'), 'End my session');
    await Promise.all([page.waitForSelector('#kiosk-session-ended'), page.click('#end-session')]);
    assert.equal(await page.textContent('#kiosk-fqdn'), FQDN);
    const listed = await page.$$eval('#logged-out-apps li[data-app]', (items) =>
      items.map((item) => [item.getAttribute('data-app'), item.querySelector('.app-status')?.getAttribute('data-status')]),
    );
    assert.deepEqual(listed.sort(), [['apache', 'told'], ['demo', 'told']]);
    assert.equal(await countSessions(stack.webiso, 'bob'), 0);

    // server to app, after the page: the demo's back-channel route and Apache's CASSSOEnabled handler
    const rows = await stack.waitForDeliveries(2);
    assert.deepEqual(rows.map((row) => [row.app_id, row.channel, row.status, row.reason]).sort(), [
      ['apache', 'cas', 'delivered', 'logout'],
      ['demo', 'backchannel', 'delivered', 'logout'],
    ]);
  });

  it('the next person on the same profile (a new page) reaches nothing of bob in either app', async () => {
    // The apps' cookies are still in the profile (a kiosk logout keeps cookies, for the machine's):
    // whatever refuses bob below is the apps honouring single logout, not a cleared cookie.
    assert.ok((await cookieNames(stack.demoUrl)).includes(APP_SESSION_COOKIE));
    assert.ok((await cookieNames(stack.apacheSecure)).includes(APACHE_COOKIE));

    const next = await kiosk.newPage();
    const seen: string[] = [];
    const visit = async (url: string) => {
      await next.goto(url);
      seen.push(`${next.url()}\n${await next.innerText('body')}`);
    };

    await visit(`${stack.demoUrl}/`);
    assert.ok(await next.isVisible('[data-field="session-ended"]'), 'the demo refused bob\'s app session: its sid was logged out');
    assert.equal(await next.$('[data-field="username"]'), null);

    await visit(`${stack.demoUrl}/kiosk`);
    assert.equal(next.url(), `${stack.demoUrl}/kiosk`);
    assert.equal(await next.textContent('[data-field="kind"]'), 'machine');
    assert.equal(await next.textContent('[data-field="machine"]'), FQDN);

    await visit(`${stack.demoUrl}/private`);
    assert.ok(next.url().startsWith(`${stack.webisoUrl}/login?`), `a person is asked for again: ${next.url()}`);
    assert.ok(await next.isVisible('#password'));

    // mod_auth_cas expired bob's session: his cookie is sent back to webiso, which asks for a person
    await visit(stack.apacheSecure);
    assert.ok(next.url().startsWith(`${stack.webisoUrl}/cas/login?service=`), `Apache asks again: ${next.url()}\n${await why()}`);
    assert.ok(await next.isVisible('#password'));

    for (const view of seen) assert.doesNotMatch(view, /\bbob\b/, `bob showed up:\n${view}`);
  });
});
