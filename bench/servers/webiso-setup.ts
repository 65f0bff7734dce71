// What both webiso bench servers share: the config, one account, and an SSO session obtained
// through the real login form (app.inject), so the benchmark drives a real cookie.
import type { FastifyInstance } from 'fastify';
import { HOST } from './child.ts';

export const USERNAME = 'bench';
export const PASSWORD = 'a benchmark passphrase that is long enough';
export const CAS_SERVICE = 'http://127.0.0.1:9/cas/';
export const grantAlgorithm = process.env.BENCH_ALG === 'ES256' ? 'ES256' : 'EdDSA';
export const loginPath = `/login?${new URLSearchParams({ appid: 'bench', return: 'http://127.0.0.1:9/cb', flavor: 'basic', nonce: 'bench-nonce-0123456789' })}`;

/** The raw config (before parseConfig): the workers server writes it to a file for `webiso serve`. */
export function benchConfig(dataDir: string, port: number): Record<string, unknown> {
  return {
    issuer: `http://${HOST}:${port}`,
    listen: { host: HOST, port },
    dataDir,
    // BENCH_PG_URL: the same server on PostgreSQL (bench/run.ts starts one from Debian's packages)
    ...(process.env.BENCH_PG_URL
      ? { store: { kind: 'postgres', url: process.env.BENCH_PG_URL, passwordFile: process.env.BENCH_PG_PASSWORD_FILE, schema: `bench_${port}` } }
      : {}),
    // warn, not info: per-request audit lines would measure the log sink rather than the server
    logLevel: 'warn',
    grant: { algorithm: grantAlgorithm },
    // one cookie at thousands of requests a second is exactly what the loop breaker stops
    loopGuard: { maxAnswers: 0 },
    apps: [
      { id: 'bench', name: 'Benchmark App', returnUrls: ['http://127.0.0.1:9/cb'], flavors: ['basic', 'machineoruser'] },
      { id: 'bench-cas', name: 'Benchmark CAS service', cas: { services: [CAS_SERVICE] } },
    ],
  };
}

function hiddenField(html: string, name: string): string {
  const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  if (value === undefined) throw new Error(`login form has no "${name}" field`);
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function cookie(response: { cookies: Array<{ name: string; value: string }> }, name: string): string {
  const value = response.cookies.find((c) => c.name === name)?.value;
  if (!value) throw new Error(`no ${name} cookie was set`);
  return value;
}

/** GET the form, POST the password: the same two steps a browser takes. Returns the SSO cookie value. */
export async function logIn(app: FastifyInstance): Promise<string> {
  const form = await app.inject({ method: 'GET', url: loginPath, headers: { accept: 'text/html' } });
  if (form.statusCode !== 200) throw new Error(`GET ${loginPath}: ${form.statusCode}`);
  const csrfCookie = cookie(form, '__Host-webiso_csrf');
  const submitted = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { accept: 'text/html', cookie: `__Host-webiso_csrf=${csrfCookie}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ ctx: hiddenField(form.body, 'ctx'), csrf: hiddenField(form.body, 'csrf'), username: USERNAME, password: PASSWORD }).toString(),
  });
  if (submitted.statusCode !== 200 || !submitted.body.includes('name="grant"')) throw new Error(`POST /login: ${submitted.statusCode}, no grant`);
  return cookie(submitted, '__Host-webiso_login');
}
