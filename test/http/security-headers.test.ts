import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import {
  ALICE_PASSWORD,
  APP_RETURN,
  attemptLogin,
  CookieJar,
  createTestApp,
  formActions,
  getLoginForm,
  hiddenField,
  HTML,
  loginQuery,
  postForm,
  setCookieLines,
  testConfig,
} from '../support/webiso.ts';

interface Visited {
  readonly label: string;
  readonly response: LightMyRequestResponse;
  /** a login/authenticated page: must never be cached */
  readonly sensitive: boolean;
}

/** Walks every route and state a browser can reach: pages, errors, login, SSO, logout. */
async function walkRoutes(app: FastifyInstance): Promise<Visited[]> {
  const visited: Visited[] = [];
  const visit = (label: string, response: LightMyRequestResponse, sensitive = true) => visited.push({ label, response, sensitive });
  const get = async (jar: CookieJar, url: string, headers: Record<string, string> = HTML) => {
    const response = await app.inject({ method: 'GET', url, headers: { ...headers, ...jar.header() } });
    jar.store(response);
    return response;
  };

  const jar = new CookieJar();
  visit('home, anonymous', await get(jar, '/'));
  visit('login form', (await getLoginForm(app, jar)).response);
  visit('granting request error', await get(jar, `/login?${loginQuery({ appid: 'nope' })}`));
  visit('passive without session', await get(jar, `/login?${loginQuery({ passive: '1' })}`));
  visit('password in URL', await get(jar, `/login?${loginQuery()}&password=x`));
  visit('not found', await get(jar, '/nope'));
  visit('not found, JSON', await get(jar, '/nope', { accept: 'application/json' }));
  const form = await getLoginForm(app, jar);
  visit('wrong password', await postForm(app, jar, '/login', { ctx: form.ctx!, csrf: form.csrf!, username: 'alice', password: 'wrong-password' }));
  visit('empty password', await postForm(app, jar, '/login', { ctx: form.ctx!, csrf: form.csrf!, username: 'alice', password: '' }));
  visit('CSRF failure', await postForm(app, jar, '/login', { ctx: form.ctx!, csrf: 'nope', username: 'alice', password: ALICE_PASSWORD }));
  visit('login context failure', await postForm(app, jar, '/login', { ctx: 'nope', csrf: form.csrf!, username: 'alice', password: ALICE_PASSWORD }));
  const login = await attemptLogin(app, { username: 'alice', password: ALICE_PASSWORD, jar });
  visit('grant after password', login.response);
  visit('SSO grant', await get(jar, `/login?${loginQuery({ nonce: 'again' })}`));
  visit('home, logged in', await get(jar, '/'));
  const logoutPage = await get(jar, `/logout?return=${encodeURIComponent(APP_RETURN)}`);
  visit('logout confirmation', logoutPage);
  visit('logout with bad return', await get(jar, `/logout?return=${encodeURIComponent('https://evil.test/')}`));
  visit('logout without CSRF', await postForm(app, jar, '/logout', {}));
  visit('logout', await postForm(app, jar, '/logout', { csrf: hiddenField(logoutPage.body, 'csrf')! }));
  visit('JWKS', await get(jar, '/.well-known/jwks.json', { accept: 'application/json' }), false);
  visit('health', await get(jar, '/healthz', { accept: 'application/json' }), false);

  const second = new CookieJar();
  await attemptLogin(app, { username: 'alice', password: ALICE_PASSWORD, jar: second });
  const secondLogout = await get(second, '/logout');
  visit('logout with return', await postForm(app, second, '/logout', { csrf: hiddenField(secondLogout.body, 'csrf')!, return: APP_RETURN }));
  return visited;
}

function isHtml(response: LightMyRequestResponse): boolean {
  return String(response.headers['content-type'] ?? '').startsWith('text/html');
}

function cspDirectives(response: LightMyRequestResponse): Map<string, string[]> {
  const header = String(response.headers['content-security-policy'] ?? '');
  return new Map(
    header
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('security headers on every response', () => {
  it('every HTML page: CSP with a per-response nonce matching its inline script and style, frame-ancestors none, nosniff, no-referrer', async () => {
    const t = await createTestApp();
    try {
      const visited = await walkRoutes(t.app);
      const pages = visited.filter(({ response }) => isHtml(response));
      assert.ok(pages.length >= 15, `only ${pages.length} HTML pages visited`);
      const nonces = new Set<string>();
      for (const { label, response } of pages) {
        const csp = cspDirectives(response);
        assert.ok(csp.size > 0, `${label}: no CSP`);
        assert.deepEqual(csp.get('default-src'), ["'none'"], label);
        assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], label);
        assert.deepEqual(csp.get('object-src'), ["'none'"], label);
        assert.deepEqual(csp.get('base-uri'), ["'none'"], label);
        const scriptSrc = csp.get('script-src') ?? [];
        assert.equal(scriptSrc.length, 1, `${label}: script-src is only a nonce`);
        const nonce = /^'nonce-([A-Za-z0-9+/=]+)'$/.exec(scriptSrc[0] ?? '')?.[1];
        assert.ok(nonce && nonce.length >= 22, `${label}: nonce of at least 128 bits`);
        assert.deepEqual(csp.get('style-src'), [`'nonce-${nonce}'`], label);
        assert.ok(!scriptSrc.includes("'unsafe-inline'") && !scriptSrc.includes("'unsafe-eval'"), label);
        nonces.add(nonce);

        // every inline <script> and <style> carries exactly this response's nonce
        const tags = [...response.body.matchAll(/<(script|style)\b([^>]*)>/g)];
        assert.ok(tags.length >= 1, `${label}: the layout's style tag`);
        for (const [, , attributes] of tags) {
          assert.equal(/nonce="([^"]*)"/.exec(attributes ?? '')?.[1], nonce, `${label}: ${attributes}`);
          assert.doesNotMatch(attributes ?? '', /\ssrc=/, `${label}: no external scripts`);
        }
        assert.doesNotMatch(response.body, /\son[a-z]+="/i, `${label}: no inline event handlers`);

        assert.equal(response.headers['x-content-type-options'], 'nosniff', label);
        assert.equal(response.headers['referrer-policy'], 'no-referrer', label);
        assert.equal(response.headers['x-frame-options'], 'DENY', label);
      }
      assert.equal(nonces.size, pages.length, 'a fresh nonce per response');
    } finally {
      await t.close();
    }
  });

  it('form-action allows only our own origin, plus the app origin on the page that posts the grant to it', async () => {
    const t = await createTestApp();
    try {
      for (const { label, response } of await walkRoutes(t.app)) {
        if (!isHtml(response)) continue;
        const formAction = cspDirectives(response).get('form-action');
        const external = formActions(response.body).filter((action) => !action.startsWith('/'));
        if (external.length === 0) {
          assert.deepEqual(formAction, ["'self'"], label);
        } else {
          assert.deepEqual(formAction, ["'self'", ...new Set(external.map((action) => new URL(action).origin))], label);
        }
      }
    } finally {
      await t.close();
    }
  });

  it('login and authenticated pages are never cached; every response has nosniff', async () => {
    const t = await createTestApp();
    try {
      for (const { label, response, sensitive } of await walkRoutes(t.app)) {
        assert.equal(response.headers['x-content-type-options'], 'nosniff', label);
        if (sensitive) assert.equal(response.headers['cache-control'], 'no-store', label);
      }
    } finally {
      await t.close();
    }
  });

  it('HSTS of at least a year with an https issuer, and none over plain http', async () => {
    const https = await createTestApp();
    try {
      for (const { label, response } of await walkRoutes(https.app)) {
        const hsts = String(response.headers['strict-transport-security'] ?? '');
        const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? 0);
        assert.ok(maxAge >= 31_536_000, `${label}: ${hsts}`);
      }
    } finally {
      await https.close();
    }
    const http = await createTestApp({ config: testConfig({ issuer: 'http://localhost:8080' }) });
    try {
      const response = await http.app.inject({ method: 'GET', url: '/', headers: HTML });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['strict-transport-security'], undefined);
    } finally {
      await http.close();
    }
  });

  it('every cookie set anywhere is __Host-, Secure, HttpOnly, Path=/, no Domain, SameSite=Lax, and small', async () => {
    const t = await createTestApp();
    try {
      const lines = (await walkRoutes(t.app)).flatMap(({ response }) => setCookieLines(response));
      const names = new Set<string>();
      assert.ok(lines.length >= 4, 'the walk sets and clears cookies');
      for (const line of lines) {
        const [pair, ...attributes] = line.split(';').map((part) => part.trim());
        const name = pair!.slice(0, pair!.indexOf('='));
        names.add(name);
        const lower = attributes.map((attribute) => attribute.toLowerCase());
        assert.ok(name.startsWith('__Host-'), line);
        assert.ok(lower.includes('secure'), `${line}: Secure`);
        assert.ok(lower.includes('httponly'), `${line}: HttpOnly`);
        assert.ok(lower.includes('path=/'), `${line}: Path=/`);
        assert.ok(!lower.some((attribute) => attribute.startsWith('domain=')), `${line}: no Domain`);
        assert.ok(lower.includes('samesite=lax'), `${line}: SameSite=Lax`);
        assert.ok(Buffer.byteLength(pair!) <= 4096, `${line}: name+value ≤ 4096 bytes`);
      }
      assert.deepEqual([...names].sort(), ['__Host-webiso_csrf', '__Host-webiso_login']);
    } finally {
      await t.close();
    }
  });

  it('what a page echoes is HTML-encoded (username, app name, error text)', async () => {
    const t = await createTestApp({
      config: testConfig({
        apps: [{ id: 'app', name: '<img src=x onerror=alert(1)> "App"', returnUrls: [APP_RETURN], flavors: ['basic'] }],
      }),
    });
    try {
      const payload = '"><script>alert(1)</script><svg onload=alert(2)>';
      const { response, form } = await attemptLogin(t.app, { username: payload, password: 'wrong-password' });
      for (const page of [response, form]) {
        assert.doesNotMatch(page.body, /<script>alert|<svg onload|<img src=x/);
        assert.match(page.body, /&lt;img src=x onerror=alert\(1\)&gt;/);
      }
      assert.match(response.body, /value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      const jar = new CookieJar();
      const reflected = await t.app.inject({ method: 'GET', url: `/login?${loginQuery({ nonce: '<script>alert(3)</script>' })}`, headers: { ...HTML, ...jar.header() } });
      assert.equal(reflected.statusCode, 400);
      assert.doesNotMatch(reflected.body, /<script>alert/);
    } finally {
      await t.close();
    }
  });
});
