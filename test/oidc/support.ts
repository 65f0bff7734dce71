/**
 * webiso as an OpenID Provider on loopback for openid-client tests: one config with OIDC clients,
 * a fetch-based browser with a cookie jar that follows redirects by hand (so the tests see every
 * hop and never follow one to a client), and openid-client configured against the discovery.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import * as client from 'openid-client';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { freePort } from '../support/browser.ts';
import { testStoreConfig } from '../support/test-store.ts';

export const SECRET = 'test-only-client-secret-0123456789abcdef';
export const ALICE = { name: 'alice', password: 'correct horse battery staple', roles: ['staff'] } as const;
export const RP_CALLBACK = 'https://rp.example.edu/oidc/callback';
export const RP_LOGGED_OUT = 'https://rp.example.edu/logged-out';

export interface OidcWebiso {
  readonly webiso: FastifyInstance;
  readonly base: string;
  readonly issuer: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** extra apps (each may have an oidc section); the default client `rp` is always there */
  readonly apps?: ReadonlyArray<Record<string, unknown>>;
  readonly rp?: Record<string, unknown>;
  readonly logout?: Record<string, unknown>;
}

export async function startOidcWebiso(options: StartOptions = {}): Promise<OidcWebiso> {
  const dataDir = mkdtempSync(join(tmpdir(), 'webiso-oidc-'));
  const secretFile = join(dataDir, 'rp.secret');
  writeFileSync(secretFile, `${SECRET}\n`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const rp = {
    id: 'rp',
    name: 'Relying Party',
    oidc: { clientId: 'rp-client', clientSecretFile: secretFile, redirectUris: [RP_CALLBACK], postLogoutRedirectUris: [RP_LOGGED_OUT], scopes: ['openid', 'profile', 'roles', 'machine'], flavor: 'machineoruser', ...options.rp },
    ...(options.logout ? { logout: options.logout } : {}),
  };
  const config = parseConfig({ issuer: base, dataDir, logLevel: 'silent', store: testStoreConfig(dataDir), apps: [rp, ...(options.apps ?? [])], logout: { deliveryTimeoutSeconds: 2 } });
  const webiso = await buildApp(config, { logger: false });
  await webiso.webiso.users.add(ALICE.name, await hashPassword(ALICE.password), [...ALICE.roles], new Date());
  await webiso.listen({ host: '127.0.0.1', port });
  return {
    webiso,
    base,
    issuer: `${base}/oidc`,
    dataDir,
    async close() {
      await webiso.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Hop {
  readonly url: string;
  readonly status: number;
  readonly location?: string | undefined;
  readonly body: string;
  readonly headers: Headers;
}

/** A browser without a rendering engine: cookies by name (paths ignored), redirects by hand. */
export class FetchBrowser {
  readonly cookies = new Map<string, string>();

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Hop> {
    const headers: Record<string, string> = { accept: 'text/html' };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body: init.form ? new URLSearchParams(init.form).toString() : undefined, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = response.headers.get('location') ?? undefined;
    return { url, status: response.status, location: location ? new URL(location, url).href : undefined, body: await response.text(), headers: response.headers };
  }

  /** Follows redirects while they stay on `origin`; returns the last hop (a page, or a redirect elsewhere). */
  async walk(url: string, origin: string, init: { form?: Record<string, string> } = {}): Promise<Hop> {
    let hop = await this.request(url, init);
    for (let count = 0; hop.location && hop.status >= 300 && hop.status < 400 && new URL(hop.location).origin === origin && count < 10; count += 1) {
      hop = await this.request(hop.location);
    }
    return hop;
  }
}

export function hidden(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match?.[1]) throw new Error(`no hidden field ${name}`);
  return match[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function formAction(html: string): string {
  const match = /<form method="post" action="([^"]*)"/.exec(html);
  if (!match?.[1]) throw new Error('no form');
  return match[1].replace(/&amp;/g, '&');
}

/** Submits webiso's login form on `page` (a hop that shows it) and follows to the client. */
export async function submitLogin(browser: FetchBrowser, page: Hop, base: string, user: { name: string; password: string } = ALICE): Promise<Hop> {
  const action = new URL(formAction(page.body), page.url).href;
  return browser.walk(action, base, { form: { ctx: hidden(page.body, 'ctx'), csrf: hidden(page.body, 'csrf'), username: user.name, password: user.password } });
}

export async function discover(op: OidcWebiso, clientId = 'rp-client', metadata: Partial<client.ClientMetadata> = {}, auth: client.ClientAuth = client.ClientSecretBasic(SECRET)): Promise<client.Configuration> {
  return client.discovery(new URL(op.issuer), clientId, { id_token_signed_response_alg: 'ES256', ...metadata }, auth, { execute: [client.allowInsecureRequests] });
}

export interface AuthorizationStart {
  readonly url: string;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
}

export async function authorizationUrl(config: client.Configuration, params: Record<string, string> = {}): Promise<AuthorizationStart> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: RP_CALLBACK,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url: url.href, verifier, state, nonce };
}

/** The code exchange of a callback the browser was sent to. */
export function exchange(config: client.Configuration, callback: string | undefined, start: AuthorizationStart): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  if (callback === undefined) throw new Error('the browser was not sent back to the client');
  return client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
}
