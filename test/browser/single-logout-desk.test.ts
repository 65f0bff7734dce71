import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { sweepExpiredSessions } from '../../src/logout/sweep.ts';
import { parseCgiEnv } from '../support/apache-cas.ts';
import { launchChromium } from '../support/browser.ts';
import { logIn, watchPasswordPrompts } from '../support/cas-webiso.ts';
import { countSessions, startSingleLogoutStack, type SingleLogoutStack } from '../support/single-logout-stack.ts';

// Issue 8, desk: webiso's logout, and the idle expiry of its session (fake clock, no browser
// request), end the demo app's session (back-channel token) and Apache's (CAS logoutRequest).
const ALICE = { name: 'alice', password: 'alice correct horse battery' };
const APP_SESSION_COOKIE = '__Host-webiso_app_session';
const APACHE_COOKIE = 'MOD_AUTH_CAS_P3';

describe('browser: single logout at a desk (demo app + Apache mod_auth_cas)', () => {
  let stack: SingleLogoutStack;
  let browser: Browser;
  let desk: BrowserContext;
  let page: Page;
  let prompts: { count: () => number };

  before(async () => {
    // the demo's own idle limit is far beyond webiso's: after clock.advance only single logout can end it
    stack = await startSingleLogoutStack({ users: [ALICE], demoSessionIdleSeconds: 28_000 });
    browser = await launchChromium();
    desk = await browser.newContext();
    page = await desk.newPage();
    prompts = watchPasswordPrompts(page, stack.webisoUrl);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  const why = async () => `deliveries: ${JSON.stringify(await stack.deliveries())}\napache error log:\n${await stack.apache.readErrorLog()}`;

  /** Logs in to the demo (a password prompt) and then to Apache (the SSO session, no prompt). */
  async function logInToBothApps(): Promise<void> {
    const before = prompts.count();
    await page.goto(`${stack.demoUrl}/private`);
    assert.ok(page.url().startsWith(`${stack.webisoUrl}/login?`), page.url());
    await logIn(page, ALICE, `${stack.demoUrl}/private`);
    assert.equal(await page.textContent('[data-field="username"]'), 'alice');
    await page.goto(stack.apacheSecure);
    assert.equal(page.url(), stack.apacheSecure);
    assert.equal(parseCgiEnv(await page.innerText('body')).REMOTE_USER, 'alice', await why());
    assert.equal(prompts.count(), before + 1, 'one prompt for both apps');
  }

  /** Both app sessions are over although the browser still holds both apps' cookies. */
  async function assertBothAppSessionsEnded(): Promise<void> {
    // webiso's Clear-Site-Data reaches only its own host (localhost); the apps live on 127.0.0.1
    const names = (await desk.cookies([stack.demoUrl, stack.apacheSecure])).map((cookie) => cookie.name);
    assert.ok(names.includes(APP_SESSION_COOKIE) && names.includes(APACHE_COOKIE), `the apps' cookies are still there: ${names.join(' ')}`);

    await page.goto(`${stack.demoUrl}/`);
    assert.ok(await page.isVisible('[data-field="session-ended"]'), 'the demo refused the app session of the ended sid');
    assert.equal(await page.$('[data-field="username"]'), null);
    assert.doesNotMatch(await page.innerText('body'), /alice/);

    await page.goto(stack.apacheSecure);
    assert.ok(page.url().startsWith(`${stack.webisoUrl}/cas/login?service=`), `Apache sends the browser to webiso again: ${page.url()}\n${await why()}`);
    assert.ok(await page.isVisible('#password'), 'and webiso has no session left to answer with');
  }

  it('webiso logout (GET /logout, confirm) ends the demo app\'s and the Apache app\'s sessions', async () => {
    await logInToBothApps();
    await page.goto(`${stack.webisoUrl}/logout`);
    await Promise.all([page.waitForSelector('#logged-out'), page.click('#logout-submit')]);
    const listed = await page.$$eval('#logged-out-apps li[data-app]', (items) =>
      items.map((item) => [item.getAttribute('data-app'), item.querySelector('.app-status')?.getAttribute('data-status')]),
    );
    assert.deepEqual(listed.sort(), [['apache', 'told'], ['demo', 'told']]);

    const rows = await stack.waitForDeliveries(2);
    assert.deepEqual(rows.map((row) => [row.app_id, row.channel, row.reason]).sort(), [['apache', 'cas', 'logout'], ['demo', 'backchannel', 'logout']]);
    await assertBothAppSessionsEnded();
  });

  it('the idle expiry of the webiso session, found by the sweep with no browser request, ends both app sessions', async () => {
    await logInToBothApps();
    const webisoRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(stack.webisoUrl)) webisoRequests.push(request.url());
    });

    // the person walks away: webiso's clock (shared by the demo) passes the idle limit
    stack.clock.advance(stack.webiso.webiso.config.session.idleSeconds + 1);
    assert.equal(await sweepExpiredSessions(stack.webiso.webiso, stack.webiso.log), 1, 'the sweep ends the one idle session');
    assert.equal(await countSessions(stack.webiso), 0);
    const rows = await stack.waitForDeliveries(4);
    assert.deepEqual(rows.slice(2).map((row) => [row.app_id, row.channel, row.reason]).sort(), [['apache', 'cas', 'expired'], ['demo', 'backchannel', 'expired']]);
    assert.deepEqual(webisoRequests, [], 'nothing from the browser reached webiso');

    await assertBothAppSessionsEnded();
  });
});
