import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { parseCasXml } from './cas.ts';
import { formCsrf } from './machines.ts';
import { FetchBrowser, formField } from './served-webiso.ts';

/**
 * Mixed load against a served webiso (test/support/served-webiso.ts), every response checked:
 * password logins, SSO redirects, kiosk (machineoruser) requests, CAS logins with validations,
 * JWKS, logout and the occasional mint through the admin pages. Workers are closed loops (one
 * request in flight each), so the number of workers is the concurrency.
 */
const LOGIN_COOKIE = '__Host-webiso_login';
const MACHINE_COOKIE = '__Host-webiso_machine';

export interface LoadTarget {
  readonly url: string;
  readonly issuer: string;
  readonly appId: string;
  readonly returnUrl: string;
  readonly casService: string;
  readonly password: string;
  readonly admin: string;
  /** the JWKS as served at the start; grants must verify against it and it must not change */
  readonly jwks: JSONWebKeySet;
}

/** A response that was not what it should be; the worker starts its journey again. */
class InvalidResponse extends Error {}

const MAX_EXAMPLES = 5;

/** What a failure message shows of a body: an HTML page's title and visible text, anything else as it is. */
function gist(body: string): string {
  const title = /<title>([^<]*)<\/title>/.exec(body)?.[1];
  const text = title === undefined ? body : `"${title}": ${(/<body[^>]*>([\s\S]*)/.exec(body)?.[1] ?? '').replace(/<(script|style)[\s\S]*?<\/\1>/g, '').replace(/<[^>]+>/g, ' ')}`;
  return text.replace(/\s+/g, ' ').trim().slice(0, 240);
}

/** What the load saw: counts by kind, per second of the run, 5xx, invalid responses and the first few of those. */
export class Tally {
  readonly startedAt = performance.now();
  readonly byKind: Record<string, number> = {};
  readonly invalidByKind: Record<string, number> = {};
  readonly perSecond: number[] = [];
  total = 0;
  serverErrors = 0;
  invalid = 0;
  readonly examples: string[] = [];

  /** The invalid answers by kind, then the first few of them. */
  report(): string {
    return `${JSON.stringify(this.invalidByKind)}\n${this.examples.join('\n')}`;
  }
  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }
  ok(kind: string): void {
    this.total += 1;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    const second = Math.floor(this.elapsedSeconds());
    this.perSecond[second] = (this.perSecond[second] ?? 0) + 1;
  }
  bad(kind: string, status: number, problem: string, body: string): InvalidResponse {
    this.ok(kind);
    this.invalid += 1;
    if (status >= 500) this.serverErrors += 1;
    this.invalidByKind[kind] = (this.invalidByKind[kind] ?? 0) + 1;
    const example = `${kind} at ${this.elapsedSeconds().toFixed(1)} s: status ${status}: ${problem} — ${gist(body)}`;
    // at most two of a kind, so a flood of one kind does not hide another
    if (this.examples.length < MAX_EXAMPLES && this.invalidByKind[kind] <= 2) this.examples.push(example);
    return new InvalidResponse(example);
  }
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly location?: string | null;
}

/** One request: counted, a 5xx or a failed check recorded (and thrown), the answer returned otherwise. */
async function step<T extends Answer>(tally: Tally, kind: string, send: () => Promise<T>, check: (answer: T) => Promise<string | undefined> | string | undefined): Promise<T> {
  let answer: T;
  try {
    answer = await send();
  } catch (error) {
    throw tally.bad(kind, 0, `request failed: ${(error as Error).message}`, '');
  }
  let problem: string | undefined;
  try {
    problem = answer.status >= 500 ? 'server error' : await check(answer);
  } catch (error) {
    // a body the check cannot even parse (malformed XML or JSON)
    problem = (error as Error).message;
  }
  if (problem !== undefined) throw tally.bad(kind, answer.status, problem, answer.body);
  tally.ok(kind);
  return answer;
}

type Expected = { readonly sub: string } | { readonly machineFQDN: string };

/** The auto-posting grant form: posts to the return URL, a JWS that verifies against the JWKS with this request's nonce and the expected subject. */
async function grantProblem(target: LoadTarget, keys: ReturnType<typeof createLocalJWKSet>, html: string, nonce: string, expected: Expected): Promise<string | undefined> {
  if (!html.includes(`action="${target.returnUrl}"`)) return 'no form posting to the return URL';
  const grant = formField(html, 'grant');
  if (grant === '') return 'no grant';
  try {
    const { payload } = await jwtVerify(grant, keys, { issuer: target.issuer, audience: target.appId, typ: 'webiso-grant+jwt' });
    if (payload.nonce !== nonce) return `nonce ${String(payload.nonce)}, expected ${nonce}`;
    if ('sub' in expected) return payload.sub === expected.sub && payload.kind === 'user' ? undefined : `grant for ${String(payload.sub)} (${String(payload.kind)}), expected ${expected.sub}`;
    return payload.sub === '' && payload.kind === 'machine' && payload.machineFQDN === expected.machineFQDN ? undefined : `grant kind ${String(payload.kind)} for ${String(payload.machineFQDN)}, expected machine ${expected.machineFQDN}`;
  } catch (error) {
    return `grant does not verify: ${(error as Error).message}`;
  }
}

const prompts = (html: string) => html.includes('name="password"') && formField(html, 'grant') === '';

/** The request-level checks every journey is made of. */
export function loadSteps(target: LoadTarget, tally: Tally) {
  const keys = createLocalJWKSet(target.jwks);
  const kids = JSON.stringify(target.jwks.keys.map((key) => key.kid).sort());
  const loginPath = (nonce: string, flavor = 'basic') => `/login?${new URLSearchParams({ appid: target.appId, return: target.returnUrl, flavor, nonce })}`;
  const machineBrowser = (cookie: string) => {
    const browser = new FetchBrowser(target.url);
    browser.cookies.set(MACHINE_COOKIE, cookie);
    return browser;
  };

  async function passwordLogin(username: string): Promise<FetchBrowser> {
    const browser = new FetchBrowser(target.url);
    const nonce = randomUUID();
    const form = await step(tally, 'login-form', () => browser.get(loginPath(nonce)), (a) => (a.status === 200 && prompts(a.body) && formField(a.body, 'ctx') !== '' ? undefined : 'no login form'));
    const fields = { ctx: formField(form.body, 'ctx'), csrf: formField(form.body, 'csrf'), username, password: target.password };
    await step(tally, 'password-login', () => browser.post('/login', fields), (a) => (a.status === 200 ? grantProblem(target, keys, a.body, nonce, { sub: username }) : 'not 200'));
    return browser;
  }

  async function ssoRedirect(browser: FetchBrowser, username: string): Promise<void> {
    const nonce = randomUUID();
    await step(tally, 'sso', () => browser.get(loginPath(nonce)), (a) => (a.status === 200 ? grantProblem(target, keys, a.body, nonce, { sub: username }) : 'not 200'));
  }

  /** A kiosk's granting request (its sighting is written); the machine grant, or `false` for a refused cookie: the login prompt. */
  async function kioskRequest(cookie: string, fqdn: string, accepted = true): Promise<void> {
    const nonce = randomUUID();
    await step(tally, accepted ? 'kiosk' : 'kiosk-stale-cookie', () => machineBrowser(cookie).get(loginPath(nonce, 'machineoruser')), (a) => {
      if (a.status !== 200) return 'not 200';
      if (accepted) return grantProblem(target, keys, a.body, nonce, { machineFQDN: fqdn });
      return prompts(a.body) ? undefined : 'a replaced cookie was not refused';
    });
  }

  async function casLoginAndValidate(browser: FetchBrowser, username: string): Promise<void> {
    const prefix = `${target.casService}?ticket=ST-`;
    const login = await step(tally, 'cas-login', () => browser.get(`/cas/login?${new URLSearchParams({ service: target.casService })}`), (a) => (a.status === 302 && a.location?.startsWith(prefix) ? undefined : `no ticket redirect (${a.location})`));
    const ticket = new URL(login.location!).searchParams.get('ticket')!;
    const validate = async () => {
      const response = await fetch(`${target.url}/cas/p3/serviceValidate?${new URLSearchParams({ service: target.casService, ticket })}`);
      return { status: response.status, body: await response.text() };
    };
    await step(tally, 'cas-validate', validate, (a) => {
      if (a.status !== 200) return 'not 200';
      const parsed = parseCasXml(a.body);
      return parsed.user === username && parsed.failureCode === undefined ? undefined : `user ${parsed.user}, failure ${parsed.failureCode}`;
    });
  }

  /** Logout ends this browser's session: the confirmation form, the post, then a prompt instead of SSO. */
  async function logout(browser: FetchBrowser): Promise<void> {
    const page = await step(tally, 'logout-form', () => browser.get('/logout'), (a) => (a.status === 200 && formCsrf(a.body, '/logout') ? undefined : 'no logout form'));
    await step(tally, 'logout', () => browser.post('/logout', { csrf: formCsrf(page.body, '/logout')! }), (a) => (a.status === 200 && !browser.cookies.get(LOGIN_COOKIE) ? undefined : 'session cookie kept'));
    await step(tally, 'after-logout', () => browser.get(loginPath(randomUUID())), (a) => (a.status === 200 && prompts(a.body) ? undefined : 'still logged in'));
  }

  async function jwks(): Promise<void> {
    const fetchJwks = async () => {
      const response = await fetch(`${target.url}/.well-known/jwks.json`);
      return { status: response.status, body: await response.text() };
    };
    await step(tally, 'jwks', fetchJwks, (a) => {
      if (a.status !== 200) return 'not 200';
      const served = JSON.parse(a.body) as JSONWebKeySet;
      return JSON.stringify(served.keys.map((key) => key.kid).sort()) === kids ? undefined : 'the key set changed';
    });
  }

  /** Admin login, the machine page, mint: the new cookie; the admin session ends with the mint. */
  async function mint(fqdn: string): Promise<string> {
    const browser = new FetchBrowser(target.url);
    const page = `/admin/machines/${fqdn}`;
    const action = `${page}/mint`;
    const form = await step(tally, 'admin-login-form', () => browser.get(`/admin/login?${new URLSearchParams({ next: page })}`), (a) => (a.status === 200 && formField(a.body, 'csrf') !== '' ? undefined : 'no admin login form'));
    await step(tally, 'admin-login', () => browser.post('/admin/login', { csrf: formField(form.body, 'csrf'), next: page, username: target.admin, password: target.password }), (a) => (a.status === 303 ? undefined : 'not 303'));
    const machinePage = await step(tally, 'admin-machine-page', () => browser.get(page), (a) => (a.status === 200 && formCsrf(a.body, action) ? undefined : 'no mint form'));
    await step(tally, 'mint', () => browser.post(action, { csrf: formCsrf(machinePage.body, action)!, days: '30' }), (a) => (a.status === 200 && a.body.includes('id="minted"') && browser.cookies.get(MACHINE_COOKIE) ? undefined : 'no machine cookie minted'));
    return browser.cookies.get(MACHINE_COOKIE)!;
  }

  return { passwordLogin, ssoRedirect, kioskRequest, casLoginAndValidate, logout, jwks, mint };
}

export type LoadSteps = ReturnType<typeof loadSteps>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `journey` again and again until the deadline. An invalid response (already counted) starts
 * the next journey after a short pause, so a broken path cannot spin; anything else is a harness bug
 * and is counted as invalid too.
 */
export async function untilDeadline(tally: Tally, deadlineSeconds: number, journey: () => Promise<void>): Promise<void> {
  while (tally.elapsedSeconds() < deadlineSeconds) {
    try {
      await journey();
    } catch (error) {
      if (!(error instanceof InvalidResponse)) tally.bad('harness', 0, (error as Error).stack ?? String(error), '');
      await sleep(200);
    }
  }
}

/** A worker that keeps one logged-in browser (logging in again if a step failed) and runs `use` with it. */
export function withSession(steps: LoadSteps, username: string, use: (browser: FetchBrowser) => Promise<void>): () => Promise<void> {
  let browser: FetchBrowser | undefined;
  return async () => {
    browser ??= await steps.passwordLogin(username);
    try {
      await use(browser);
    } catch (error) {
      browser = undefined;
      throw error;
    }
  };
}

/** Re-mints `fqdn` every `pauseMs` (the pause cut short at the deadline): the new cookie is accepted at once, the one it replaced is refused. */
export function minting(steps: LoadSteps, tally: Tally, deadlineSeconds: number, fqdn: string, pauseMs: number): () => Promise<void> {
  let previous: string | undefined;
  return async () => {
    const cookie = await steps.mint(fqdn);
    await steps.kioskRequest(cookie, fqdn);
    if (previous !== undefined) await steps.kioskRequest(previous, fqdn, false);
    previous = cookie;
    await sleep(Math.max(0, Math.min(pauseMs, (deadlineSeconds - tally.elapsedSeconds()) * 1000)));
  };
}
