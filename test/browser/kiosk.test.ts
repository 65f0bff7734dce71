import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import { launchChromium } from '../support/browser.ts';
import { startDemoStack, type DemoStack } from '../support/demo-stack.ts';

const ADMIN = { name: 'root', password: 'admin correct horse battery' };
const ALICE = { name: 'alice', password: 'alice correct horse battery' };
const FQDN = 'kiosk1.kiosk.example.edu';

/** webiso and the demo app on loopback, with the machineoruser flavor and kiosk minting for admins. */
function startKioskStack(): Promise<DemoStack> {
  return startDemoStack({
    users: [{ ...ADMIN, roles: ['admin'] }, ALICE],
    configOverrides: ({ demoUrl }) => ({
      apps: [{ id: 'demo', name: 'webiso demo app', returnUrls: [`${demoUrl}/webiso/callback`], flavors: ['basic', 'machineoruser'] }],
      machines: { mintPolicy: [{ roles: ['admin'], fqdns: ['*.kiosk.example.edu'] }] },
    }),
  });
}

/** Counts webiso login pages with a password field: "no prompt" is observed, not assumed. */
function watchPasswordPrompts(page: Page, webisoUrl: string): { count: () => number } {
  let shown = 0;
  page.on('response', async (response) => {
    if (!response.url().startsWith(`${webisoUrl}/login`) || response.request().method() !== 'GET') return;
    const body = await response.text().catch(() => '');
    if (body.includes('name="password"')) shown += 1;
  });
  return { count: () => shown };
}

async function logOutOfDemo(page: Page, demoUrl: string) {
  await page.goto(`${demoUrl}/`);
  if (await page.$('form[action="/webiso/logout"] button')) {
    await Promise.all([page.waitForSelector('text=You are not logged in to the demo app.'), page.click('form[action="/webiso/logout"] button')]);
  }
}

async function adminLogsIn(page: Page, webisoUrl: string) {
  await page.goto(`${webisoUrl}/admin`);
  assert.ok(page.url().startsWith(`${webisoUrl}/admin/login`), page.url());
  await page.fill('#username', ADMIN.name);
  await page.fill('#password', ADMIN.password);
  await Promise.all([page.waitForURL(`${webisoUrl}/admin`), page.click('#login-submit')]);
}

describe('browser: a kiosk in real Chromium', () => {
  let stack: DemoStack;
  let browser: Browser;
  let kiosk: BrowserContext;
  let page: Page;
  let prompts: { count: () => number };

  before(async () => {
    stack = await startKioskStack();
    browser = await launchChromium();
    kiosk = await browser.newContext();
    page = await kiosk.newPage();
    prompts = watchPasswordPrompts(page, stack.webisoUrl);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('an admin at the kiosk registers it and mints its cookie into this browser profile', async () => {
    await adminLogsIn(page, stack.webisoUrl);
    await page.fill('#fqdn', FQDN);
    await page.fill('#entitlements', 'library-walk-in');
    await Promise.all([page.waitForURL(new RegExp(`/admin/machines/${FQDN.replace(/\./g, '\\.')}\\?done=added$`)), page.click('#add-submit')]);
    await page.fill('#days', '30');
    await Promise.all([page.waitForSelector('#minted'), page.click('#mint-submit')]);
    assert.equal(await page.textContent('#minted-fqdn'), FQDN);

    const cookies = await kiosk.cookies(stack.webisoUrl);
    const machine = cookies.find((cookie) => cookie.name === MACHINE_COOKIE);
    assert.ok(machine, 'the machine cookie is in the kiosk profile');
    assert.deepEqual([machine.httpOnly, machine.secure, machine.sameSite, machine.path], [true, true, 'Lax', '/']);
    const days = (machine.expires - Date.now() / 1000) / 86_400;
    assert.ok(days > 29.9 && days <= 30, `persistent for 30 days, got ${days}`);
    assert.equal(cookies.find((cookie) => cookie.name === '__Host-webiso_login'), undefined, "the admin's session did not stay on the kiosk");
  });

  it('the demo app then gets the machine identity with no prompt', async () => {
    const before = prompts.count();
    await page.goto(`${stack.demoUrl}/kiosk`);
    await page.waitForURL(`${stack.demoUrl}/kiosk`);
    assert.equal(await page.textContent('[data-field="kind"]'), 'machine');
    assert.equal(await page.textContent('[data-field="machine"]'), FQDN);
    assert.equal(await page.textContent('[data-field="entitlements"]'), 'library-walk-in');
    assert.equal(await page.$('[data-field="username"]'), null);
    assert.equal(prompts.count(), before, 'no password prompt');
    const [sighting] = await stack.webiso.webiso.machines.sightings.recent(FQDN, 1);
    assert.deepEqual([sighting?.outcome, sighting?.clientIp, sighting?.appId], ['accepted', '127.0.0.1', 'demo']);
    assert.match(sighting?.userAgent ?? '', /Chrome/);
  });

  it('a person logging in on the kiosk sees the kiosk notice and gets the kiosk session lifetime', async () => {
    await logOutOfDemo(page, stack.demoUrl);
    await page.goto(`${stack.demoUrl}/private`);
    assert.ok(page.url().startsWith(`${stack.webisoUrl}/login?`), page.url());
    assert.equal(await page.textContent('#kiosk-fqdn'), FQDN);
    assert.ok(await page.isVisible('#end-session'));
    await page.fill('#username', ALICE.name);
    await page.fill('#password', ALICE.password);
    await Promise.all([page.waitForURL(`${stack.demoUrl}/private`), page.click('#login-submit')]);
    assert.equal(await page.textContent('[data-field="username"]'), 'alice');
    const session = await stack.webiso.webiso.store.db.selectFrom('sessions').select(['idle_seconds', 'absolute_expires_at', 'created_at']).where('username', '=', 'alice').executeTakeFirstOrThrow();
    assert.deepEqual({ idle_seconds: session.idle_seconds, absolute: session.absolute_expires_at - session.created_at }, { idle_seconds: 600, absolute: 1800 });
  });

  it('"end my session" on the kiosk login page logs the person out and returns the kiosk to its machine identity', async () => {
    // An app that insists on a person (force=1) shows the login page, with the kiosk's prominent button.
    const forced = new URLSearchParams({ appid: 'demo', return: `${stack.demoUrl}/webiso/callback`, flavor: 'basic', nonce: 'forced-login-nonce', force: '1' });
    await page.goto(`${stack.webisoUrl}/login?${forced.toString()}`);
    assert.equal(await page.textContent('#end-session'), 'End my session');
    await Promise.all([page.waitForSelector('#kiosk-session-ended'), page.click('#end-session')]);
    assert.equal(await page.textContent('#kiosk-fqdn'), FQDN);
    assert.equal((await stack.webiso.webiso.sessions.ofUser('alice')).length, 0);
    const cookies = await kiosk.cookies(stack.webisoUrl);
    assert.ok(cookies.some((cookie) => cookie.name === MACHINE_COOKIE), 'the machine cookie survived the logout');
    assert.equal(cookies.find((cookie) => cookie.name === '__Host-webiso_login'), undefined);

    await logOutOfDemo(page, stack.demoUrl);
    const before = prompts.count();
    await page.goto(`${stack.demoUrl}/kiosk`);
    await page.waitForURL(`${stack.demoUrl}/kiosk`);
    assert.equal(await page.textContent('[data-field="kind"]'), 'machine');
    assert.equal(prompts.count(), before, 'the machine identity, without a prompt');
    await logOutOfDemo(page, stack.demoUrl);
    await page.goto(`${stack.demoUrl}/private`);
    assert.ok(page.url().startsWith(`${stack.webisoUrl}/login?`), 'and the person is gone');
  });

  it('after a revoke from another browser, the same kiosk is prompted on its very next login', async () => {
    const desk = await browser.newContext();
    try {
      const adminPage = await desk.newPage();
      await adminLogsIn(adminPage, stack.webisoUrl);
      await adminPage.goto(`${stack.webisoUrl}/admin/machines/${FQDN}`);
      assert.match((await adminPage.textContent('#history')) ?? '', /mint\s*1\s*root/);
      await adminPage.fill('#revoke-reason', 'image copied');
      await adminPage.check('#revoke-confirm');
      await Promise.all([adminPage.waitForURL(/\?done=revoked$/), adminPage.click('#revoke-submit')]);
      assert.equal(await adminPage.textContent('[data-field="version"]'), '2');
      assert.match((await adminPage.textContent('#addresses')) ?? '', /127\.0\.0\.1/);
    } finally {
      await desk.close();
    }

    await logOutOfDemo(page, stack.demoUrl);
    const before = prompts.count();
    await page.goto(`${stack.demoUrl}/kiosk`);
    assert.ok(page.url().startsWith(`${stack.webisoUrl}/login?`), `prompted, got ${page.url()}`);
    assert.ok(await page.isVisible('#password'));
    assert.equal(prompts.count(), before + 1);
    assert.equal((await stack.webiso.webiso.machines.sightings.recent(FQDN, 1))[0]?.reason, 'revoked_version');
  });
});
