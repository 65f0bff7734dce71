import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { startDemoStack, type DemoStack } from '../support/demo-stack.ts';
import { countSessions } from '../support/single-logout-stack.ts';

const ALICE = { name: 'alice', password: 'alice correct horse battery' };
const BOB = { name: 'bob', password: 'bob tr0ub4dor &3 staple' };

/** Records every webiso login form shown, so "no password prompt" is an observation, not an assumption. */
function watchLoginForms(page: Page, webisoUrl: string) {
  const pending: Array<Promise<boolean>> = [];
  page.on('response', (response) => {
    if (response.url().startsWith(`${webisoUrl}/login`) && response.request().method() === 'GET') {
      pending.push(response.text().then((body) => body.includes('name="password"'), () => false));
    }
  });
  return { count: async () => (await Promise.all(pending)).filter(Boolean).length };
}

async function logInThroughForm(page: Page, user: { name: string; password: string }) {
  await page.waitForSelector('#password');
  await page.fill('#username', user.name);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(/\/private$/), page.click('#login-submit')]);
}

describe('browser: the demo app logs in through webiso (real Chromium)', () => {
  let stack: DemoStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let loginForms: ReturnType<typeof watchLoginForms>;

  before(async () => {
    stack = await startDemoStack({ users: [ALICE, BOB] });
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    loginForms = watchLoginForms(page, stack.webisoUrl);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('runs a full login from the demo app and back', async () => {
    await page.goto(`${stack.demoUrl}/private`);
    assert.ok(page.url().startsWith(`${stack.webisoUrl}/login?`), `expected webiso's login page, got ${page.url()}`);
    assert.equal(await loginForms.count(), 1);
    await logInThroughForm(page, ALICE);
    assert.equal(await page.textContent('[data-field="username"]'), 'alice');
    assert.equal(await page.textContent('[data-field="kind"]'), 'user');
    const cookies = await context.cookies(stack.webisoUrl);
    const sso = cookies.find((cookie) => cookie.name === '__Host-webiso_login');
    assert.ok(sso, 'the SSO cookie is set');
    assert.equal(sso.httpOnly, true);
    assert.equal(sso.secure, true);
    assert.equal(sso.sameSite, 'Lax');
  });

  it('gives single sign-on on a second visit without a password prompt', async () => {
    // Drop only the demo app's own session: webiso's SSO session must carry the next login.
    await page.goto(`${stack.demoUrl}/`);
    await page.click('form[action="/webiso/logout"] button');
    await page.waitForSelector('text=You are not logged in to the demo app.');
    const formsBefore = await loginForms.count();
    await page.goto(`${stack.demoUrl}/private`);
    await page.waitForURL(/\/private$/);
    assert.equal(await page.textContent('[data-field="username"]'), 'alice');
    assert.equal(await loginForms.count(), formsBefore, 'no password prompt on the SSO visit');
    await stack.webiso.webiso.audit.flush();
    const events = (await stack.webiso.webiso.audit.recent(10)).map((event) => event.event);
    assert.ok(events.includes('login.sso'), `login.sso audited: ${events.join(',')}`);
  });

  it('logs out of webiso: the session row is gone and the next login prompts again', async () => {
    await page.goto(`${stack.webisoUrl}/logout`);
    assert.equal(await page.textContent('#current-user'), 'alice');
    await Promise.all([page.waitForSelector('#logged-out'), page.click('#logout-submit')]);
    assert.equal(await countSessions(stack.webiso), 0);
    const cookies = await context.cookies(stack.webisoUrl);
    assert.equal(cookies.find((cookie) => cookie.name === '__Host-webiso_login'), undefined);
  });

  it('a second person on the same browser profile after logout does not inherit the first one', async () => {
    const formsBefore = await loginForms.count();
    await page.goto(`${stack.demoUrl}/private`);
    assert.ok(page.url().startsWith(`${stack.webisoUrl}/login?`), 'prompted, not signed in as alice');
    assert.equal(await loginForms.count(), formsBefore + 1);
    assert.equal(await page.inputValue('#username'), '', 'no username of the previous person prefilled');
    await logInThroughForm(page, BOB);
    assert.equal(await page.textContent('[data-field="username"]'), 'bob');
    assert.doesNotMatch(await page.content(), /alice/);
    // Walking back through history must not bring the previous person's pages back from a cache.
    for (let step = 0; step < 6; step += 1) {
      if (!(await page.goBack().catch(() => null))) break;
      assert.doesNotMatch(await page.content(), /data-field="username">alice</);
    }
  });
});
