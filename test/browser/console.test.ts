import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import { horizontalOverflow, screenshot, seriousViolations } from '../support/axe.ts';
import { launchChromium } from '../support/browser.ts';
import { csvRecords } from '../support/csv-parse.ts';
import { startDemoStack, type DemoStack } from '../support/demo-stack.ts';

/**
 * The console and the patron pages in real Chromium: every page at desktop and phone width, axe
 * (serious and critical violations fail), no horizontal page overflow, screenshots under
 * test/artifacts/. The axe context is created with bypassCSP, because axe is injected as a script
 * text that webiso's nonce-based CSP refuses; the CSP itself is checked in a normal context.
 */

const ADMIN = { name: 'root', password: 'admin correct horse battery' };
const ALICE = { name: 'alice', password: 'alice correct horse battery' };
const KIOSKS = ['a.kiosk.example.edu', 'b.kiosk.example.edu', 'c.kiosk.example.edu'];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const cli = { name: 'cli:ops' };

async function presentCookie(app: FastifyInstance, cookie: string, remoteAddress: string, demoUrl: string) {
  const query = new URLSearchParams({ appid: 'demo', return: `${demoUrl}/webiso/callback`, flavor: 'machineoruser', nonce: 'n-12345678' });
  await app.inject({ method: 'GET', url: `/login?${query.toString()}`, headers: { accept: 'text/html', cookie: `${MACHINE_COOKIE}=${cookie}` }, remoteAddress });
}

/** Three kiosks: one seen from two addresses (one outside its network: an alert), one suspended, one expiring. */
async function seed(stack: DemoStack): Promise<string> {
  const { operations } = stack.webiso.webiso.machines;
  for (const [index, fqdn] of KIOSKS.entries()) {
    await operations.add(fqdn, { location: `Floor ${index + 1}`, networks: ['10.1.0.0/16'] }, cli);
    const { cookie } = await operations.mint(fqdn, index === 1 ? 10 : 60, { name: 'root', ip: '127.0.0.1' });
    await presentCookie(stack.webiso, cookie, '10.1.2.3', stack.demoUrl);
    if (index === 0) await presentCookie(stack.webiso, cookie, '198.51.100.7', stack.demoUrl);
  }
  await operations.suspend('c.kiosk.example.edu', cli, 'moved');
  await operations.add('d.kiosk.example.edu', {}, cli);
  return (await operations.createEnrollment('d.kiosk.example.edu', 30, cli)).url;
}

async function logIn(page: Page, webisoUrl: string, user = ADMIN) {
  await page.goto(`${webisoUrl}/admin/login?next=%2Fadmin`);
  await page.fill('#username', user.name);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(`${webisoUrl}/admin`), page.click('#login-submit')]);
}

describe('browser: the admin console and the patron pages', () => {
  let stack: DemoStack;
  let browser: Browser;
  let axeContext: BrowserContext;
  let page: Page;
  let enrollUrl: string;

  before(async () => {
    stack = await startDemoStack({
      users: [{ ...ADMIN, roles: ['admin'] }, ALICE],
      configOverrides: ({ demoUrl }) => ({
        apps: [{ id: 'demo', name: 'webiso demo app', returnUrls: [`${demoUrl}/webiso/callback`], flavors: ['basic', 'machineoruser'] }],
        machines: { mintPolicy: [{ roles: ['admin'], fqdns: ['*.kiosk.example.edu'] }] },
      }),
    });
    enrollUrl = await seed(stack);
    browser = await launchChromium();
    axeContext = await browser.newContext({ bypassCSP: true, viewport: DESKTOP });
    page = await axeContext.newPage();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** Opens `path` at desktop (light) and phone (dark) size: axe, overflow, screenshots. */
  async function check(path: string, name: string, ready?: string) {
    for (const [size, viewport, scheme] of [['desktop', DESKTOP, 'light'], ['phone', PHONE, 'dark']] as const) {
      await page.setViewportSize(viewport);
      await page.emulateMedia({ colorScheme: scheme });
      const response = await page.goto(`${stack.webisoUrl}${path}`);
      assert.ok(response && response.status() < 500, `${path}: ${response?.status()}`);
      if (ready) await page.waitForSelector(ready);
      const violations = await seriousViolations(page);
      assert.deepEqual(violations, [], `${name} (${size}, ${scheme}): ${JSON.stringify(violations, null, 1)}`);
      assert.equal(await horizontalOverflow(page), 0, `${name} (${size}) scrolls sideways`);
      await screenshot(page, `${name}-${size}`);
    }
  }

  it('patron pages: login, a wrong password, logout, the start page, an error, an enrollment link', async () => {
    await check(`/login?${new URLSearchParams({ appid: 'demo', return: `${stack.demoUrl}/webiso/callback`, flavor: 'basic', nonce: 'n-12345678' })}`, 'login', '#password');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'typo');
    await Promise.all([page.waitForSelector('#login-error'), page.click('#login-submit')]);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'focus on the password after a typo');
    assert.equal(await page.inputValue('#username'), 'alice');
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'login-wrong-password');
    await check('/logout', 'logout');
    await check('/', 'home');
    await check('/no-such-page', 'error-404');
    await check(new URL(enrollUrl).pathname, 'kiosk-enroll');
  });

  it('admin pages: every one, at desktop and phone size', async () => {
    await check('/admin/login', 'admin-login', '#username');
    await logIn(page, stack.webisoUrl);
    for (const [path, name] of [
      ['/admin', 'admin-dashboard'],
      ['/admin/machines', 'admin-machines'],
      ['/admin/machines/a.kiosk.example.edu', 'admin-machine'],
      ['/admin/history', 'admin-history'],
      ['/admin/expiring', 'admin-expiring'],
      ['/admin/alerts', 'admin-alerts'],
      ['/admin/enrollments', 'admin-enrollments'],
      ['/admin/users', 'admin-users'],
      ['/admin/users/alice', 'admin-user'],
    ] as const) {
      await check(path, name, '#admin-user');
    }
  });

  it('the dashboard shows the counts the database has, and the alert count in the navigation', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${stack.webisoUrl}/admin`);
    const { db } = stack.webiso.webiso.store;
    const now = Math.floor(Date.now() / 1000);
    const counted = async (query: { executeTakeFirst(): Promise<{ n: number | string } | undefined> }) => String(Number((await query.executeTakeFirst())?.n ?? 0));
    const machines = () => db.selectFrom('machines').select((eb) => eb.fn.countAll<number>().as('n'));
    const openAlerts = await counted(db.selectFrom('machine_alerts').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'open'));
    assert.notEqual(openAlerts, '0', 'the seed raised an alert');
    assert.equal(await page.textContent('[data-count="open-alerts"]'), openAlerts);
    assert.equal(await page.textContent('#nav-alert-count'), openAlerts);
    const expiring = (days: number) => counted(machines().where('status', '=', 'active').where('expires_at', '>', now).where('expires_at', '<=', now + days * 86_400));
    assert.equal(await page.textContent('[data-count="expiring-14"]'), await expiring(14));
    assert.equal(await page.textContent('[data-count="expiring-30"]'), await expiring(30));
    assert.equal(await page.textContent('[data-count="machines"]'), await counted(machines()));
    assert.equal(await page.textContent('[data-state="suspended"]'), await counted(machines().where('status', '=', 'suspended')));
    for (const id of ['chart-status', 'chart-logins', 'chart-changes']) assert.ok(await page.isVisible(`#${id}`), id);
  });

  it("the machine page's timeline: a lane per address, a legend, readable labels, also on a phone", async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      await page.goto(`${stack.webisoUrl}/admin/machines/a.kiosk.example.edu`);
      const lanes = await page.$$eval('#timeline g.lane[data-lane]', (groups) => groups.map((g) => g.getAttribute('data-lane')));
      // the most recently seen address first; two presentations in the same second go by name
      const seen = await stack.webiso.webiso.machines.sightings.addresses('a.kiosk.example.edu');
      const order = [...seen].sort((x, y) => y.lastSeen - x.lastSeen || x.clientIp.localeCompare(y.clientIp)).map((address) => address.clientIp);
      assert.deepEqual(lanes, ['alerts', ...order]);
      assert.deepEqual([...order].sort(), ['10.1.2.3', '198.51.100.7']);
      const legend = await page.$$eval('#timeline .legend-item', (items) => items.map((item) => item.textContent));
      assert.deepEqual(legend, ['Accepted', 'Refused', 'Alert']);
      assert.equal(await page.locator('#timeline .mark-alert').count(), (await stack.webiso.webiso.machines.alerts.forMachine('a.kiosk.example.edu')).length, 'the alerts on the same axis');
      assert.ok((await page.locator('#timeline .mark-alert').count()) > 0);
      const labelHeight = await page.$eval('#timeline .lane[data-lane="10.1.2.3"] .chart-label', (label) => label.getBoundingClientRect().height);
      assert.ok(labelHeight >= 11, `lane labels are readable (${labelHeight} px)`);
      assert.ok(await page.isVisible('#lanes'), 'the table below');
      assert.equal(await horizontalOverflow(page), 0);
    }
    await screenshot(page, 'admin-timeline-phone');
  });

  it('the CSV export downloads and parses back to the machines', async () => {
    await page.goto(`${stack.webisoUrl}/admin/machines`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-machines')]);
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    const records = csvRecords(readFileSync(path, 'utf8'));
    assert.deepEqual(records.map((r) => [r.fqdn, r.status, r.location, r.version]), (await stack.webiso.webiso.machines.repository.list()).map((m) => [m.fqdn, m.status, m.location ?? '', String(m.version)]));
  });

  it('bulk revoke asks for confirmation in the browser, and the CSP holds in a normal context', async () => {
    const normal = await browser.newContext({ viewport: DESKTOP });
    try {
      const admin = await normal.newPage();
      const cspErrors: string[] = [];
      admin.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspErrors.push(message.text());
      });
      await logIn(admin, stack.webisoUrl);
      await admin.goto(`${stack.webisoUrl}/admin/machines`);
      await admin.check('#select-b\\.kiosk\\.example\\.edu');
      await admin.selectOption('#bulk-action', 'revoke');
      await Promise.all([admin.waitForSelector('#bulk-confirm'), admin.click('#bulk-submit')]);
      const version = async () => (await stack.webiso.webiso.machines.repository.find('b.kiosk.example.edu'))?.version;
      const before = await version();
      await admin.click('#bulk-confirm-submit');
      assert.equal(await admin.$('#bulk-results'), null, 'the required checkbox stops the submission');
      assert.equal(await version(), before);
      await admin.check('#bulk-confirm');
      await Promise.all([admin.waitForSelector('#bulk-results'), admin.click('#bulk-confirm-submit')]);
      assert.equal(await version(), (before ?? 0) + 1);
      await admin.goto(`${stack.webisoUrl}/admin/machines/a.kiosk.example.edu`);
      assert.ok(await admin.isVisible('#timeline'));
      assert.deepEqual(cspErrors, []);
    } finally {
      await normal.close();
    }
  });
});
