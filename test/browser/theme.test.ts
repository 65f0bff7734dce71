import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { horizontalOverflow, screenshot, seriousViolations } from '../support/axe.ts';
import { launchChromium } from '../support/browser.ts';
import { startDemoStack, type DemoStack } from '../support/demo-stack.ts';

/**
 * A sample theme in real Chromium: the institution's name, logo, colours and footer, and a theme
 * directory's stylesheet, on the login page at desktop and phone width — screenshots of the default
 * and of the theme under test/artifacts/, axe clean, no horizontal overflow, and the CSP still strict.
 */
const THEME_CSS = 'main { border-top: 6px solid rgb(122, 0, 25); } #brand-name { letter-spacing: .05em; }\n';
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="18" fill="#7a0019"/></svg>';

describe('browser: the default look and a sample theme', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-sample-theme-'));
  let themed: DemoStack;
  let plain: DemoStack;
  let browser: Browser;
  before(async () => {
    writeFileSync(join(dir, 'theme.css'), THEME_CSS);
    writeFileSync(join(dir, 'logo.svg'), LOGO);
    themed = await startDemoStack({
      configOverrides: { branding: { institution: 'Universidad de Ejemplo', logoFile: join(dir, 'logo.svg'), colors: { accent: '#7a0019' }, footer: '© Universidad de Ejemplo', support: { text: 'Help desk:', email: 'help@example.edu' }, themeDir: dir } },
    });
    plain = await startDemoStack();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await themed?.close();
    await plain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, size] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]] as const) {
    it(`the themed login page names the institution, applies the theme and stays accessible (${name})`, async () => {
      const context = await browser.newContext({ viewport: size, bypassCSP: true });
      const strict = await browser.newContext({ viewport: size });
      try {
        const loginUrl = (stack: DemoStack) => `${stack.demoUrl}/private`;
        const page = await context.newPage();
        await page.goto(loginUrl(themed));
        assert.ok(page.url().startsWith(`${themed.webisoUrl}/login?`), page.url());
        assert.equal(await page.textContent('#brand-name'), 'Universidad de Ejemplo');
        assert.match((await page.textContent('#login-institution')) ?? '', /webiso demo app.*Universidad de Ejemplo/);
        assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('main')!).borderTopColor), 'rgb(122, 0, 25)', 'the theme stylesheet applies');
        assert.ok(await page.evaluate(() => (document.querySelector('#brand img') as HTMLImageElement | null)?.naturalWidth === 40), 'the logo loads');
        assert.deepEqual(await seriousViolations(page), []);
        assert.equal(await horizontalOverflow(page), 0);
        await screenshot(page, `theme-sample-login-${name}`);

        const defaultPage = await context.newPage();
        await defaultPage.goto(loginUrl(plain));
        assert.notEqual(await defaultPage.textContent('#brand-name').catch(() => null), 'Universidad de Ejemplo', 'the default look carries no institution of its own');
        assert.notEqual(await defaultPage.evaluate(() => getComputedStyle(document.querySelector('main')!).borderTopColor), 'rgb(122, 0, 25)');
        assert.deepEqual(await seriousViolations(defaultPage), []);
        await screenshot(defaultPage, `theme-default-login-${name}`);

        // without bypassCSP the themed page loads its stylesheet and logo with no CSP violation
        const checked = await strict.newPage();
        const violations: string[] = [];
        checked.on('console', (message) => (/Content Security Policy/.test(message.text()) ? violations.push(message.text()) : undefined));
        await checked.goto(loginUrl(themed));
        assert.equal(await checked.evaluate(() => getComputedStyle(document.querySelector('main')!).borderTopColor), 'rgb(122, 0, 25)');
        assert.deepEqual(violations, []);
      } finally {
        await context.close();
        await strict.close();
      }
    });
  }
});
