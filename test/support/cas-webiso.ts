/**
 * webiso as the CAS server of real relying clients (apache-cas.ts, saml-chain.ts), plus the
 * browser helpers their Chromium tests share. The port is reserved first because the clients'
 * configs need webiso's URL and webiso's config needs theirs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { freePort } from './browser.ts';
import { testStoreConfig } from './test-store.ts';

export interface WebisoAddress {
  readonly port: number;
  /** what the browser uses: localhost is a secure context, so __Host- cookies work over http */
  readonly webisoUrl: string;
  /** `${webisoUrl}/cas`: the CAS login base the browser is sent to */
  readonly casLoginBase: string;
  /** the clients' back channel (validation), straight to the listening address */
  readonly casBackChannel: string;
}

export async function reserveWebiso(): Promise<WebisoAddress> {
  const port = await freePort();
  const webisoUrl = `http://localhost:${port}`;
  return { port, webisoUrl, casLoginBase: `${webisoUrl}/cas`, casBackChannel: `http://127.0.0.1:${port}/cas` };
}

export interface CasWebiso {
  readonly webiso: FastifyInstance;
  readonly webisoUrl: string;
  close(): Promise<void>;
}

export interface StartCasWebisoOptions {
  readonly apps: ReadonlyArray<Record<string, unknown>>;
  readonly users: ReadonlyArray<{ name: string; password: string; roles?: string[] }>;
}

export async function startCasWebiso(address: WebisoAddress, { apps, users }: StartCasWebisoOptions): Promise<CasWebiso> {
  const dataDir = mkdtempSync(join(tmpdir(), 'webiso-cas-clients-'));
  const config = parseConfig({ issuer: address.webisoUrl, dataDir, logLevel: 'silent', store: testStoreConfig(dataDir), apps });
  const webiso = await buildApp(config, { logger: false });
  for (const user of users) await webiso.webiso.users.add(user.name, await hashPassword(user.password), user.roles ?? [], new Date());
  await webiso.listen({ host: '127.0.0.1', port: address.port });
  return {
    webiso,
    webisoUrl: address.webisoUrl,
    async close() {
      await webiso.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers a kiosk machine and puts a freshly minted machine cookie into the browser context,
 * with the attributes webiso itself sets (src/machines/machine-cookie.ts COOKIE_OPTIONS).
 */
export async function giveMachineCookie(webiso: FastifyInstance, context: BrowserContext, fqdn: string, details: { entitlements: string[]; location: string }): Promise<void> {
  const actor = { name: 'test' };
  const operations = webiso.webiso.machines.operations;
  await operations.add(fqdn, details, actor);
  const minted = await operations.mint(fqdn, 30, actor);
  const url = new URL(webiso.webiso.config.issuer);
  await context.addCookies([
    { name: MACHINE_COOKIE, value: minted.cookie, domain: url.hostname, path: '/', httpOnly: true, secure: true, sameSite: 'Lax', expires: minted.claims.exp },
  ]);
}

/** Counts webiso login pages with a password field: "no prompt" is observed, not assumed. */
export function watchPasswordPrompts(page: Page, webisoUrl: string): { count: () => number } {
  let shown = 0;
  page.on('response', async (response) => {
    const url = response.url();
    if (!(url.startsWith(`${webisoUrl}/cas/login`) || url.startsWith(`${webisoUrl}/login`)) || response.request().method() !== 'GET') return;
    const body = await response.text().catch(() => '');
    if (body.includes('name="password"')) shown += 1;
  });
  return { count: () => shown };
}

/** Fills webiso's login form (the one /cas/login shows) and waits until the browser is at `arrival`. */
export async function logIn(page: Page, user: { name: string; password: string }, arrival: RegExp | string): Promise<void> {
  await page.fill('#username', user.name);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(arrival), page.click('#login-submit')]);
}

export interface CasEvent {
  readonly event: string;
  readonly username?: string | undefined;
  readonly appId?: string | undefined;
  readonly detail?: string | undefined;
}

/** webiso's cas.* audit rows, oldest first. */
export async function casEvents(webiso: FastifyInstance): Promise<CasEvent[]> {
  await webiso.webiso.audit.flush();
  return (await webiso.webiso.audit.recent(500)).filter((row) => row.event.startsWith('cas.')).reverse();
}
