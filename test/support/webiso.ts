import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type BuildAppOptions } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { WebisoConfig } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';

export const ISSUER = 'https://login.example.edu';
export const APP_RETURN = 'https://app.example.edu/webiso/callback';

export function testConfig(overrides: Record<string, unknown> = {}, dataDir?: string): WebisoConfig {
  return parseConfig({
    issuer: ISSUER,
    dataDir: dataDir ?? mkdtempSync(join(tmpdir(), 'webiso-test-')),
    logLevel: 'silent',
    apps: [
      { id: 'app', name: 'Example App', returnUrls: [APP_RETURN, 'https://app.example.edu:8443/other/'], flavors: ['basic'] },
      { id: 'other', name: 'Other App', returnUrls: ['https://other.example.edu/cb'], flavors: ['basic'] },
    ],
    ...overrides,
  });
}

/** A controllable clock (milliseconds). */
export function fakeClock(start = Date.UTC(2026, 10, 22, 12, 0, 0)) {
  let now = start;
  return {
    now: () => now,
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: WebisoConfig;
  close(): Promise<void>;
}

export async function createTestApp(options: { config?: WebisoConfig; users?: Array<{ name: string; password: string; roles?: string[] }> } & BuildAppOptions = {}): Promise<TestApp> {
  const config = options.config ?? testConfig();
  const app = await buildApp(config, { logger: false, ...options });
  const now = new Date();
  for (const user of options.users ?? [{ name: 'alice', password: 'correct horse battery staple' }]) {
    app.webiso.users.add(user.name, await hashPassword(user.password), user.roles ?? [], now);
  }
  return {
    app,
    config,
    async close() {
      await app.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** A minimal cookie jar for multi-step flows through app.inject. */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  store(response: LightMyRequestResponse): void {
    for (const cookie of response.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const expired = cookie.maxAge === 0 || (cookie.expires !== undefined && cookie.expires.getTime() <= Date.now()) || cookie.value === '';
      if (expired) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }
  header(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }
}

/** Pulls a hidden input's value out of a rendered form. */
export function hiddenField(html: string, name: string): string | undefined {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return match?.[1]?.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function loginQuery(overrides: Record<string, string> = {}): string {
  return new URLSearchParams({ appid: 'app', return: APP_RETURN, flavor: 'basic', nonce: 'nonce-123', ...overrides }).toString();
}

export const HTML = { accept: 'text/html' };

/** Runs the granting request and the login form; returns the final response and the jar. */
export async function loginThroughForm(
  app: FastifyInstance,
  { username = 'alice', password = 'correct horse battery staple', query = {}, jar = new CookieJar() }: { username?: string; password?: string; query?: Record<string, string>; jar?: CookieJar } = {},
) {
  const form = await app.inject({ method: 'GET', url: `/login?${loginQuery(query)}`, headers: { ...HTML, ...jar.header() } });
  jar.store(form);
  const ctx = hiddenField(form.body, 'ctx');
  const csrf = hiddenField(form.body, 'csrf');
  if (!ctx || !csrf) return { form, response: form, jar };
  const response = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { ...HTML, ...jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ ctx, csrf, username, password }).toString(),
  });
  jar.store(response);
  return { form, response, jar };
}
