// webiso started the way `webiso serve` starts it (startServer), with one account and one SSO
// session obtained through the real login form, so the benchmark drives a real cookie.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hashTicket, newServiceTicket } from '../../src/cas/service-ticket.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startServer } from '../../src/server.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { announceAndServe, freePort, HOST } from './child.ts';

const USERNAME = 'bench';
const CAS_SERVICE = 'http://127.0.0.1:9/cas/';
/** Enough fresh tickets for the validation target's warm-up and run at well over the rates seen here. */
const PREMINTED_TICKETS = 150_000;
const KIOSK_FQDN = 'kiosk1.bench.example.edu';
const grantAlgorithm = process.env.BENCH_ALG === 'ES256' ? 'ES256' : 'EdDSA';
const PASSWORD = 'a benchmark passphrase that is long enough';

function hiddenField(html: string, name: string): string {
  const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  if (value === undefined) throw new Error(`login form has no "${name}" field`);
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function cookie(response: { cookies: Array<{ name: string; value: string }> }, name: string): string {
  const value = response.cookies.find((c) => c.name === name)?.value;
  if (!value) throw new Error(`no ${name} cookie was set`);
  return value;
}

/** GET the form, POST the password: the same two steps a browser takes. Returns the SSO cookie value. */
async function logIn(app: FastifyInstance, loginPath: string): Promise<string> {
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

/**
 * Service tickets for the validation target, stored through the same repository /cas/login uses
 * (one transaction), each valid for an hour instead of 60 s so the run's order does not matter:
 * what is measured is validation, issuance is the /cas/login target.
 */
function premintTickets(app: FastifyInstance, count: number): string[] {
  const now = Math.floor(Date.now() / 1000);
  const subject = { kind: 'user', username: USERNAME, authTime: now, amr: ['pwd'], roles: ['staff'] } as const;
  const tickets = Array.from({ length: count }, () => newServiceTicket());
  app.webiso.db.transaction(() => {
    for (const ticket of tickets) {
      app.webiso.casTickets.save(hashTicket(ticket), { appId: 'bench-cas', service: CAS_SERVICE, subject, flavor: 'basic', fromNewLogin: false, sid: 'bench-premint', createdAt: now, expiresAt: now + 3600 });
    }
  })();
  return tickets;
}

/** A registered kiosk and its machine cookie, for the machine path (cookie checked, version read, sighting written, grant signed). */
async function mintKiosk(app: FastifyInstance): Promise<string> {
  const actor = { name: 'bench' };
  app.webiso.machines.operations.add(KIOSK_FQDN, { entitlements: ['library-walk-in'], location: 'Benchmark floor' }, actor);
  return (await app.webiso.machines.operations.mint(KIOSK_FQDN, 30, actor)).cookie;
}

const dataDir = mkdtempSync(join(tmpdir(), 'webiso-bench-'));
const port = await freePort();
const issuer = `http://${HOST}:${port}`;
const config = parseConfig({
  issuer,
  listen: { host: HOST, port },
  dataDir,
  // warn, not info: per-request audit lines would measure the log sink rather than the server
  logLevel: 'warn',
  grant: { algorithm: grantAlgorithm },
  // one cookie at thousands of requests a second is exactly what the loop breaker stops
  loopGuard: { maxAnswers: 0 },
  apps: [
    { id: 'bench', name: 'Benchmark App', returnUrls: ['http://127.0.0.1:9/cb'], flavors: ['basic', 'machineoruser'] },
    { id: 'bench-cas', name: 'Benchmark CAS service', cas: { services: [CAS_SERVICE] } },
  ],
});
const server = await startServer(config);
try {
  server.app.webiso.users.add(USERNAME, await hashPassword(PASSWORD), [], new Date());
  const loginPath = `/login?${new URLSearchParams({ appid: 'bench', return: 'http://127.0.0.1:9/cb', flavor: 'basic', nonce: 'bench-nonce-0123456789' })}`;
  const ssoCookie = await logIn(server.app, loginPath);
  const ticketsFile = join(dataDir, 'tickets.txt');
  writeFileSync(ticketsFile, premintTickets(server.app, PREMINTED_TICKETS).join('\n'));
  const casLoginPath = `/cas/login?${new URLSearchParams({ service: CAS_SERVICE })}`;
  const machinePath = `/login?${new URLSearchParams({ appid: 'bench', return: 'http://127.0.0.1:9/cb', flavor: 'machineoruser', nonce: 'bench-nonce-0123456789' })}`;
  const machineCookie = await mintKiosk(server.app);
  announceAndServe({ url: server.url, issuer, alg: grantAlgorithm, loginPath, casLoginPath, casService: CAS_SERVICE, ticketsFile, machinePath, machineCookie: `__Host-webiso_machine=${machineCookie}`, cookie: `__Host-webiso_login=${ssoCookie}` }, async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
} catch (error) {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
  throw error;
}
