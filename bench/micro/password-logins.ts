// Password logins (argon2id) through the real login form, in-process (app.inject), 50 at a time:
// logins/s, and the event loop's delay p99 meanwhile — hashing runs on the thread pool with its
// concurrency capped, so the event loop must stay responsive. Prints one JSON line. Argument: SECONDS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';

const seconds = Number(process.argv[2] ?? 5);
const CONCURRENT = 50;
const PASSWORD = 'a benchmark passphrase that is long enough';
const dataDir = mkdtempSync(join(tmpdir(), 'webiso-bench-logins-'));
const config = parseConfig({
  issuer: 'http://127.0.0.1:1',
  dataDir,
  logLevel: 'silent',
  // every login is a success: the throttle must not be what is measured
  throttle: { maxFailuresPerAccount: 100, maxFailuresPerIp: 100_000 },
  apps: [{ id: 'bench', name: 'Benchmark App', returnUrls: ['http://127.0.0.1:9/cb'] }],
});
const app = await buildApp(config, { logger: false });
const hash = await hashPassword(PASSWORD);
for (let i = 0; i < CONCURRENT; i++) await app.webiso.users.add(`user${i}`, hash, [], new Date());
const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]?.replace(/&amp;/g, '&') ?? '';
const query = new URLSearchParams({ appid: 'bench', return: 'http://127.0.0.1:9/cb', nonce: 'n-bench' }).toString();

async function logIn(user: string): Promise<void> {
  const form = await app.inject({ method: 'GET', url: `/login?${query}`, headers: { accept: 'text/html' } });
  const csrfCookie = form.cookies.find((cookie) => cookie.name === '__Host-webiso_csrf')?.value ?? '';
  const response = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { accept: 'text/html', cookie: `__Host-webiso_csrf=${csrfCookie}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ ctx: field(form.body, 'ctx'), csrf: field(form.body, 'csrf'), username: user, password: PASSWORD }).toString(),
  });
  if (!response.body.includes('name="grant"')) throw new Error(`login of ${user} failed: ${response.statusCode}`);
}

const delay = monitorEventLoopDelay({ resolution: 1 });
const deadline = Date.now() + seconds * 1000;
let logins = 0;
delay.enable();
const start = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENT }, async (_, i) => {
    while (Date.now() < deadline) {
      await logIn(`user${i}`);
      logins += 1;
    }
  }),
);
const elapsed = (performance.now() - start) / 1000;
delay.disable();
await app.close();
rmSync(dataDir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ loginsPerSecond: logins / elapsed, eventLoopDelayP99Ms: delay.percentile(99) / 1e6, concurrent: CONCURRENT })}\n`);
