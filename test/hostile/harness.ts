/**
 * Shared by the hostile-input tests: one app with native apps, CAS services and a kiosk machine;
 * the invariants every response must keep; and how many runs a property gets (FUZZ_RUNS, set high
 * by `npm run fuzz`).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import { csrfToken, CSRF_COOKIE } from '../../src/http/csrf.ts';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import type { WebisoConfig } from '../../src/config/schema.ts';
import { ADMIN, ALICE, adminLogin, KIOSK, mintInBrowser } from '../support/machines.ts';
import { CookieJar, createTestApp, loginThroughForm, testConfig, type TestApp } from '../support/webiso.ts';

/** Runs per property: small in `npm test`, large in `npm run fuzz`; every property is also time-boxed. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
export const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? (process.env.FUZZ_RUNS ? 600_000 : 3_000));
export const fuzzOptions = { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false } as const;

export const ISSUER = 'https://login.example.edu';
export const NATIVE_RETURN = 'https://app.example.edu/webiso/callback';
export const CAS_SERVICE = 'https://cas.example.edu/secure/';

export function hostileConfig(): WebisoConfig {
  return testConfig({
    apps: [
      { id: 'app', name: 'Example App', returnUrls: [NATIVE_RETURN, 'https://app.example.edu:8443/other/'], flavors: ['basic', 'machineoruser'] },
      { id: 'portal', name: 'Portal', cas: { services: [CAS_SERVICE] } },
    ],
    machines: { mintPolicy: [{ roles: ['admin'], fqdns: ['*.kiosk.example.edu'] }] },
    throttle: { maxFailuresPerAccount: 100, maxFailuresPerIp: 100_000 },
  });
}

export interface HostileApp extends TestApp {
  /** a browser with a live SSO session for alice */
  readonly alice: CookieJar;
  /** a browser logged in to the admin console, and its admin CSRF token */
  readonly admin: CookieJar;
  readonly adminCsrf: string;
  /** a kiosk browser holding a real machine cookie */
  readonly kiosk: CookieJar;
  readonly logLines: string[];
}

export async function createHostileApp(): Promise<HostileApp> {
  const logLines: string[] = [];
  const logStream = new Writable({ write: (chunk, _encoding, done) => (logLines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
  const config = { ...hostileConfig(), logLevel: 'info' as const };
  const t = await createTestApp({ config, users: [ADMIN, ALICE], logger: true, logStream });
  const { jar: alice } = await loginThroughForm(t.app, { password: ALICE.password });
  const admin = new CookieJar();
  await adminLogin(t.app, admin);
  const adminCsrf = csrfToken(t.app.webiso.formSecret, 'admin', admin.cookies.get(CSRF_COOKIE) ?? '');
  const minting = new CookieJar();
  await mintInBrowser(t.app, minting, KIOSK, '30');
  // the kiosk itself holds the machine cookie only (the minting admin's cookies stay with the admin)
  const kiosk = new CookieJar();
  kiosk.cookies.set(MACHINE_COOKIE, minting.cookies.get(MACHINE_COOKIE) ?? '');
  assert.ok(alice.cookies.has('__Host-webiso_login') && kiosk.cookies.has('__Host-webiso_machine'), 'fixtures: a session and a machine cookie');
  return { ...t, alice, admin, adminCsrf, kiosk, logLines };
}

/** The registered destinations, checked here independently of the server's matcher. */
function registeredDestinations(config: WebisoConfig): URL[] {
  return config.apps.flatMap((app) => [...app.returnUrls, ...(app.cas?.services ?? [])]).map((url) => new URL(url));
}

function isUnder(candidate: URL, registered: URL): boolean {
  if (candidate.protocol !== registered.protocol || candidate.host !== registered.host) return false;
  if (candidate.username !== '' || candidate.password !== '') return false;
  const base = registered.pathname.endsWith('/') ? registered.pathname : `${registered.pathname}/`;
  return candidate.pathname === registered.pathname || candidate.pathname.startsWith(base);
}

/** Our own pages (relative, or on the issuer), or under a registered return URL or CAS service. */
export function destinationAllowed(config: WebisoConfig, target: string): boolean {
  if (target.startsWith('/') && !target.startsWith('//') && !target.startsWith('/\\')) return true;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  if (url.origin === new URL(config.issuer).origin) return true;
  return registeredDestinations(config).some((registered) => isUnder(url, registered));
}

const unescapeHtml = (value: string) => value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

export function formActions(html: string): string[] {
  return [...html.matchAll(/<form\b[^>]*\baction="([^"]*)"/gi)].map((match) => unescapeHtml(match[1] ?? ''));
}

/** The invariants of every response: no 5xx, and no redirect or form post outside registered URLs. */
export function assertWellBehaved(config: WebisoConfig, response: LightMyRequestResponse, what: string): void {
  assert.ok(response.statusCode < 500, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
  const location = response.headers.location;
  if (typeof location === 'string') assert.ok(destinationAllowed(config, location), `${what}: redirect to ${location}`);
  if (String(response.headers['content-type'] ?? '').startsWith('text/html')) {
    for (const action of formActions(response.body)) assert.ok(destinationAllowed(config, action), `${what}: form posts to ${action}`);
  }
}

/** A grant handed to the browser (the auto-posted form's hidden field). */
export function grantIn(response: LightMyRequestResponse): string | undefined {
  return /name="grant" value="([^"]+)"/.exec(response.body)?.[1];
}

/** Unhandled rejections anywhere in the process fail the file that saw them. */
export function watchUnhandledRejections(): () => unknown[] {
  const seen: unknown[] = [];
  process.on('unhandledRejection', (reason) => void seen.push(reason));
  return () => seen;
}

/** Strings a fuzzer should try: control characters, Unicode, separators, huge and empty. */
export const hostileString = (maxLength = 300): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength, unit: 'binary' }),
    fc.string({ maxLength, unit: 'grapheme' }),
    fc.constantFrom('', ' ', '\u0000', '\r\n', '\u001b[31m', '%00', '%0d%0a', '../', '..;/', '\\', '"><script>', '${7*7}', '__proto__', 'constructor', 'a'.repeat(5000)),
    fc.stringMatching(/^[A-Za-z0-9._~%:/?#@!$&'()*+,;=-]{0,200}$/),
  );

