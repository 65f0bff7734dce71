// A Fastify app with the webisoAuth plugin, and the browser steps tests drive it with.
import { strict as assert } from 'node:assert';
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify';
import { webisoAuth, type WebisoAuthOptions } from '../../src/client/index.ts';
import { APP_ID, ISSUER, fakeClock, localJwks, machineGrant, userGrant, type ClaimOverrides, type TestKey } from './helpers.ts';

export const SECRET = 'test-cookie-secret-0123456789abcdef';
export const PUBLIC_URL = 'http://localhost:8081';
export const NONCE_COOKIE = '__Host-webiso_app_nonce';
export const SESSION_COOKIE = '__Host-webiso_app_session';

export type Clock = ReturnType<typeof fakeClock>;

export async function buildApp(key: TestKey, clock: Clock, extra: Partial<WebisoAuthOptions> = {}, server: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(server);
  await app.register(webisoAuth, {
    issuer: ISSUER,
    appId: APP_ID,
    publicUrl: PUBLIC_URL,
    cookieSecret: SECRET,
    jwks: localJwks(key),
    now: clock.now,
    ...extra,
  });
  const show = async (request: { webiso: unknown }) => ({ webiso: request.webiso });
  app.get('/', show);
  app.get('/private', { preHandler: app.webisoRequire() }, show);
  app.post('/private', { preHandler: app.webisoRequire() }, show);
  app.get('/kiosk', { preHandler: app.webisoRequire({ flavor: 'machineoruser', allowMachine: true }) }, show);
  app.get('/people-at-kiosks', { preHandler: app.webisoRequire({ flavor: 'machineoruser' }) }, show);
  app.get('/maybe', { preHandler: app.webisoRequire({ passive: true }) }, show);
  app.get('/strict', { preHandler: app.webisoRequire({ force: true }) }, show);
  app.get('/mail', { preHandler: app.webisoRequire({ flavor: 'getcred', target: 'imap.example.edu' }) }, show);
  await app.ready();
  return app;
}

export function setCookieHeaders(res: LightMyRequestResponse): string[] {
  const header = res.headers['set-cookie'];
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [String(header)];
}

export function setCookie(res: LightMyRequestResponse, name: string): string | undefined {
  return setCookieHeaders(res).find((line) => line.startsWith(`${name}=`));
}

export function cookieValue(res: LightMyRequestResponse, name: string): string {
  const line = setCookie(res, name);
  assert.ok(line, `expected Set-Cookie for ${name}`);
  return line.slice(name.length + 1).split(';')[0] ?? '';
}

export function isCleared(line: string | undefined): boolean {
  return line !== undefined && (/Max-Age=0/i.test(line) || /Expires=Thu, 01 Jan 1970/i.test(line));
}

export interface PendingLogin {
  nonce: string;
  state: string;
  location: URL;
}

export async function startLogin(app: FastifyInstance, path: string, session?: string): Promise<PendingLogin> {
  const res = await getWith(app, path, session);
  assert.equal(res.statusCode, 302, res.body);
  const location = new URL(String(res.headers.location));
  return { nonce: location.searchParams.get('nonce') ?? '', state: cookieValue(res, NONCE_COOKIE), location };
}

export function postCallback(app: FastifyInstance, fields: Record<string, string>, cookies: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/webiso/callback',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    cookies,
    payload: new URLSearchParams(fields).toString(),
  });
}

export interface LogInOptions {
  path?: string;
  kind?: 'user' | 'machine';
  /** Claims to change in the grant, e.g. `{ sid }` or `{ sub: 'bob' }`. */
  claims?: ClaimOverrides;
  /** The session cookie this browser already holds. */
  session?: string;
}

/** Runs a whole login and returns the session cookie value. */
export async function logIn(app: FastifyInstance, key: TestKey, clock: Clock, options: LogInOptions = {}): Promise<string> {
  const login = await startLogin(app, options.path ?? '/private', options.session);
  const flavor = login.location.searchParams.get('flavor') ?? 'basic';
  const claims = options.claims ?? {};
  const grant =
    options.kind === 'machine'
      ? await machineGrant(key, login.nonce, claims, clock.now() / 1000)
      : await userGrant(key, login.nonce, { flavor, ...claims }, clock.now() / 1000);
  const cookies: Record<string, string> = { [NONCE_COOKIE]: login.state };
  if (options.session !== undefined) cookies[SESSION_COOKIE] = options.session;
  const res = await postCallback(app, { grant }, cookies);
  assert.equal(res.statusCode, 303, res.body);
  return cookieValue(res, SESSION_COOKIE);
}

export function getWith(app: FastifyInstance, url: string, session?: string) {
  return app.inject({ method: 'GET', url, cookies: session === undefined ? {} : { [SESSION_COOKIE]: session } });
}

/** Who the app thinks is logged in on a public page: the username, the machine, or null. */
export async function whoIsLoggedIn(app: FastifyInstance, session: string): Promise<string | null> {
  const res = await getWith(app, '/', session);
  const body = res.json() as { webiso: { kind: string; username?: string; fqdn?: string } | null };
  if (body.webiso === null) return null;
  return body.webiso.kind === 'user' ? (body.webiso.username ?? '?') : `machine:${body.webiso.fqdn ?? '?'}`;
}

export function postLogoutToken(app: FastifyInstance, token: string, path = '/webiso/backchannel-logout') {
  return app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ logout_token: token }).toString(),
  });
}
