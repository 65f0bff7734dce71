import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Kysely } from 'kysely';
import { buildApp, type BuildAppOptions } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { WebisoConfig } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { testStoreConfig } from './test-store.ts';
import type { Selectable } from 'kysely';
import type { Tables } from '../../src/store/tables.ts';

export const ISSUER = 'https://login.example.edu';
export const APP_RETURN = 'https://app.example.edu/webiso/callback';

export function testConfig(overrides: Record<string, unknown> = {}, dataDir: string = mkdtempSync(join(tmpdir(), 'webiso-test-'))): WebisoConfig {
  return parseConfig({
    issuer: ISSUER,
    dataDir,
    // this pass's engine: an SQLite file in dataDir, or a PostgreSQL schema of its own (test/run.mjs)
    store: testStoreConfig(dataDir),
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
    await app.webiso.users.add(user.name, await hashPassword(user.password), user.roles ?? [], now);
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

/**
 * Runs the granting request and the login form; returns the final response and the jar.
 * `query` is either overrides of loginQuery's defaults or a whole query string; `fields` are
 * posted with the credentials (e.g. `consent`).
 */
export async function loginThroughForm(
  app: FastifyInstance,
  {
    username = 'alice',
    password = 'correct horse battery staple',
    query = {},
    fields = {},
    jar = new CookieJar(),
  }: { username?: string; password?: string; query?: Record<string, string> | string; fields?: Record<string, string>; jar?: CookieJar } = {},
) {
  const search = typeof query === 'string' ? query : loginQuery(query);
  const form = await app.inject({ method: 'GET', url: `/login?${search}`, headers: { ...HTML, ...jar.header() } });
  jar.store(form);
  const ctx = hiddenField(form.body, 'ctx');
  const csrf = hiddenField(form.body, 'csrf');
  if (!ctx || !csrf) return { form, response: form, jar };
  const response = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { ...HTML, ...jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ ctx, csrf, username, password, ...fields }).toString(),
  });
  jar.store(response);
  return { form, response, jar };
}

// ---------------------------------------------------------------------------------------------
// Helpers for the core login-server tests (login flow, headers, audit, keys).

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
export const SSO_COOKIE_NAME = '__Host-webiso_login';
export const CSRF_COOKIE_NAME = '__Host-webiso_csrf';
export const ALICE_PASSWORD = 'correct horse battery staple';

/** GET /login with the jar; returns the response and the form's hidden fields (if a form was shown). */
export async function getLoginForm(app: FastifyInstance, jar: CookieJar, query: Record<string, string> = {}) {
  const response = await app.inject({ method: 'GET', url: `/login?${loginQuery(query)}`, headers: { ...HTML, ...jar.header() } });
  jar.store(response);
  return { response, ctx: hiddenField(response.body, 'ctx'), csrf: hiddenField(response.body, 'csrf') };
}

/** POSTs a form to a path with the jar's cookies; stores what comes back in the jar. */
export async function postForm(
  app: FastifyInstance,
  jar: CookieJar,
  url: string,
  fields: Record<string, string>,
  options: { headers?: Record<string, string>; remoteAddress?: string } = {},
) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { ...HTML, ...jar.header(), ...FORM, ...options.headers },
    payload: new URLSearchParams(fields).toString(),
    ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
  });
  jar.store(response);
  return response;
}

/** A full password attempt in a browser (jar): fetch the form, post the credentials. */
export async function attemptLogin(
  app: FastifyInstance,
  { username, password, jar = new CookieJar(), query = {}, remoteAddress }: { username: string; password: string; jar?: CookieJar; query?: Record<string, string>; remoteAddress?: string },
) {
  const form = await getLoginForm(app, jar, query);
  if (!form.ctx || !form.csrf) throw new Error(`no login form: ${form.response.statusCode} ${form.response.body.slice(0, 300)}`);
  const response = await postForm(app, jar, '/login', { ctx: form.ctx, csrf: form.csrf, username, password }, { remoteAddress });
  return { form: form.response, response, jar };
}

/** The `grant` field of a post-to-app page. */
export function grantOf(html: string): string | undefined {
  return hiddenField(html, 'grant');
}

/** Every form action in a page. */
export function formActions(html: string): string[] {
  return [...html.matchAll(/<form[^>]*\saction="([^"]*)"/g)].map((match) => match[1]!.replace(/&amp;/g, '&'));
}

/** The raw Set-Cookie header lines of a response. */
export function setCookieLines(response: LightMyRequestResponse): string[] {
  const header = response.headers['set-cookie'];
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [String(header)];
}

/** Rows of a table whose columns equal `where` (every column given must match), after pending audit rows are written. */
export async function countRows(app: FastifyInstance, table: 'sessions' | 'auth_events' | 'login_failures' | 'users' | 'signing_keys', where: Record<string, string | number> = {}): Promise<number> {
  await app.webiso.audit.flush();
  // one helper for several tables: the column names are the test's, checked by the query itself
  const db = app.webiso.store.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  let query = db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
  for (const [column, value] of Object.entries(where)) query = query.where(column, '=', value);
  const row = await query.executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** An auth_events row as the tests read it (everything but the id). */
export type AuditRow = Omit<Selectable<Tables['auth_events']>, 'id'>;

/** The auth_events table, oldest first. */
export async function auditEvents(app: FastifyInstance): Promise<AuditRow[]> {
  await app.webiso.audit.flush();
  return app.webiso.store.db.selectFrom('auth_events').select(['at', 'event', 'username', 'client_ip', 'app_id', 'flavor', 'verifier', 'detail']).orderBy('id').execute();
}

/** Verifies a grant the way an independent relying app would: only the published JWKS, everything pinned. */
export async function verifyGrantWithJwks(app: FastifyInstance, token: string, { now, audience = 'app', issuer = ISSUER }: { now: number; audience?: string; issuer?: string }) {
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet;
  return jwtVerify(token, createLocalJWKSet(jwks), {
    algorithms: ['EdDSA'],
    issuer,
    audience,
    typ: 'webiso-grant+jwt',
    currentDate: new Date(now),
    maxTokenAge: '60s',
  });
}
