import { after, beforeEach } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { decodeJwt, SignJWT } from 'jose';
import type { WebisoConfig } from '../../src/config/schema.ts';
import { MACHINE_COOKIE, MACHINE_TYP, newJti, type MachineClaims } from '../../src/machines/machine-cookie.ts';
import { APP_RETURN, CookieJar, createTestApp, fakeClock, HTML, hiddenField, testConfig, type TestApp } from './webiso.ts';

export const ADMIN = { name: 'root', password: 'admin correct horse battery', roles: ['admin'] };
export const ALICE = { name: 'alice', password: 'correct horse battery staple' };
export const KIOSK = 'kiosk1.kiosk.example.edu';
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** The test apps: `app` allows machineoruser and basic, `other` basic only. */
export function machineConfig(overrides: Record<string, unknown> = {}, machines: Record<string, unknown> = {}): WebisoConfig {
  return testConfig({
    apps: [
      { id: 'app', name: 'Example App', returnUrls: [APP_RETURN], flavors: ['basic', 'machineoruser'] },
      { id: 'other', name: 'Other App', returnUrls: ['https://other.example.edu/cb'], flavors: ['basic'] },
    ],
    machines: { mintPolicy: [{ roles: ['admin'], fqdns: ['*.kiosk.example.edu'] }], ...machines },
    ...overrides,
  });
}

export interface MachineTestApp extends TestApp {
  readonly clock: ReturnType<typeof fakeClock>;
}

export async function createMachineTestApp(
  options: { config?: WebisoConfig; users?: Array<{ name: string; password: string; roles?: string[] }>; start?: number } = {},
): Promise<MachineTestApp> {
  const clock = fakeClock(options.start);
  const testApp = await createTestApp({ config: options.config ?? machineConfig(), users: options.users ?? [ADMIN, ALICE], now: clock.now });
  return { ...testApp, clock };
}

export function machineLoginQuery(overrides: Record<string, string> = {}): string {
  return new URLSearchParams({ appid: 'app', return: APP_RETURN, flavor: 'machineoruser', nonce: 'nonce-123', ...overrides }).toString();
}

/** A granting request from a browser (jar); returns the response and, if the answer was a grant, its claims. */
export async function requestLogin(app: FastifyInstance, jar: CookieJar, query: Record<string, string> = {}, options: { remoteAddress?: string; headers?: Record<string, string> } = {}) {
  const response = await app.inject({
    method: 'GET',
    url: `/login?${machineLoginQuery(query)}`,
    headers: { ...HTML, ...jar.header(), 'user-agent': 'KioskBrowser/1.0', ...options.headers },
    ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
  });
  jar.store(response);
  const grant = hiddenField(response.body, 'grant');
  return { response, grant, claims: grant ? decodeJwt(grant) : undefined, prompted: response.body.includes('name="password"'), error: hiddenField(response.body, 'error') };
}

export async function postForm(app: FastifyInstance, jar: CookieJar, url: string, fields: Record<string, string>, headers: Record<string, string> = HTML) {
  const response = await app.inject({ method: 'POST', url, headers: { ...headers, ...jar.header(), ...FORM }, payload: new URLSearchParams(fields).toString() });
  jar.store(response);
  return response;
}

/** Logs in on /admin/login (or confirms the password when the jar already holds a session). */
export async function adminLogin(app: FastifyInstance, jar: CookieJar, user: { name: string; password: string } = ADMIN, next = '/admin') {
  const form = await app.inject({ method: 'GET', url: `/admin/login?next=${encodeURIComponent(next)}`, headers: { ...HTML, ...jar.header() } });
  jar.store(form);
  const csrf = hiddenField(form.body, 'csrf');
  if (!csrf) throw new Error(`no admin login form: ${form.statusCode}`);
  return postForm(app, jar, '/admin/login', { csrf, next, username: user.name, password: user.password });
}

export async function adminPage(app: FastifyInstance, jar: CookieJar, url: string) {
  const response = await app.inject({ method: 'GET', url, headers: { ...HTML, ...jar.header() } });
  jar.store(response);
  return response;
}

/** The CSRF token of the form posting to `action` (pages carry several forms with different purposes). */
export function formCsrf(html: string, action: string): string | undefined {
  const start = html.indexOf(`action="${action}"`);
  if (start < 0) return undefined;
  const end = html.indexOf('</form>', start);
  return hiddenField(html.slice(start, end), 'csrf');
}

/** An admin form as a browser sends it: fetch the page, take that form's CSRF token, POST. */
export async function adminPost(app: FastifyInstance, jar: CookieJar, url: string, fields: Record<string, string> = {}, page = '/admin') {
  const html = (await adminPage(app, jar, page)).body;
  const csrf = formCsrf(html, url) ?? formCsrf(html, '/admin/machines');
  if (!csrf) throw new Error(`no form for ${url} on ${page}`);
  return postForm(app, jar, url, { csrf, ...fields });
}

/** Registers a machine through the admin page (the jar must hold an admin session). */
export async function addMachine(app: FastifyInstance, jar: CookieJar, fqdn = KIOSK, fields: Record<string, string> = {}) {
  return adminPost(app, jar, '/admin/machines', { fqdn, ...fields });
}

/** The full "admin at the kiosk" story: log in, register (if needed), mint; the kiosk jar then holds the machine cookie. */
export async function mintInBrowser(app: FastifyInstance, jar: CookieJar, fqdn = KIOSK, days = '30', fields: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  await adminLogin(app, jar);
  if (!(await app.webiso.machines.repository.find(fqdn))) await addMachine(app, jar, fqdn, fields);
  return adminPost(app, jar, `/admin/machines/${fqdn}/mint`, { days }, `/admin/machines/${fqdn}`);
}

/** Signs a machine cookie directly with a key of the keystore, for forgery and edge cases. */
export async function signCookie(app: FastifyInstance, claims: Partial<MachineClaims> & Record<string, unknown>, options: { purpose?: 'machine' | 'grant'; typ?: string } = {}) {
  const { kid, alg, key } = await app.webiso.keystore.activeKey(options.purpose ?? 'machine');
  const nowSeconds = Math.floor(app.webiso.now() / 1000);
  return new SignJWT({ fqdn: KIOSK, ver: 1, ...claims })
    .setProtectedHeader({ alg, kid, typ: options.typ ?? MACHINE_TYP })
    .setIssuedAt((claims.iat as number | undefined) ?? nowSeconds)
    .setExpirationTime((claims.exp as number | undefined) ?? nowSeconds + 86_400)
    .setJti((claims.jti as string | undefined) ?? newJti())
    .sign(key);
}

export function jarWithMachineCookie(value: string): CookieJar {
  const jar = new CookieJar();
  jar.cookies.set(MACHINE_COOKIE, value);
  return jar;
}

export interface SightingRow {
  fqdn: string | null;
  claimed_fqdn: string | null;
  client_ip: string;
  network: string;
  outcome: string;
  reason: string | null;
  app_id: string | null;
  user_agent: string | null;
  version: number | null;
}

export async function sightings(app: FastifyInstance): Promise<SightingRow[]> {
  return app.webiso.store.db
    .selectFrom('machine_sightings')
    .select(['fqdn', 'claimed_fqdn', 'client_ip', 'network', 'outcome', 'reason', 'app_id', 'user_agent', 'version'])
    .orderBy('id')
    .execute();
}

export async function lastSighting(app: FastifyInstance): Promise<SightingRow | undefined> {
  return (await sightings(app)).at(-1);
}

export type EventRow = { action: string; actor: string; version: number | null; client_ip: string | null; reason: string | null; detail: string | null };

export async function eventsOf(app: FastifyInstance, fqdn: string): Promise<EventRow[]> {
  return app.webiso.store.db.selectFrom('machine_events').select(['action', 'actor', 'version', 'client_ip', 'reason', 'detail']).where('fqdn', '=', fqdn).orderBy('id').execute();
}

/** How many rows a table holds, through the store (either engine). */
export async function countRows(app: FastifyInstance, table: 'machines' | 'machine_events' | 'machine_enrollments' | 'sessions'): Promise<number> {
  const row = await app.webiso.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** How many SSO session rows a user has. */
export async function sessionCount(app: FastifyInstance, username: string): Promise<number> {
  const row = await app.webiso.store.db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('username', '=', username).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Before each test of the suite: a fresh machine test app (the previous one closed) and an admin
 * logged in through /admin/login, handed to `use`; the last app is closed after the suite.
 */
export function withFreshAdminApp(use: (app: MachineTestApp, admin: CookieJar) => void): void {
  let current: MachineTestApp | undefined;
  beforeEach(async () => {
    await current?.close();
    current = await createMachineTestApp();
    const admin = new CookieJar();
    await adminLogin(current.app, admin);
    use(current, admin);
  });
  after(async () => current?.close());
}
