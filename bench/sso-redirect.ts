// `npm run bench`: webiso's SSO redirect and CAS paths against a bare Fastify hello, each server in its own
// process, each driven by autocannon in a third process, so no two of them share an event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { renderTable, renderVerdict, TARGETS, writeReport, type Measurement } from './report.ts';

const ROOT = new URL('..', import.meta.url);
const path = (relative: string) => fileURLToPath(new URL(relative, ROOT));

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: must be a positive integer, got "${raw}"`);
  return value;
}

interface Settings {
  readonly duration: number;
  readonly warmup: number;
  readonly connections: number;
  /** BENCH_CPU_PROF=DIR: write a V8 CPU profile of the webiso child into DIR (open in Chrome DevTools) */
  readonly cpuProfDir: string | undefined;
}

function readSettings(): Settings {
  return {
    duration: positiveInt('BENCH_DURATION', 10),
    warmup: positiveInt('BENCH_WARMUP', 2),
    connections: positiveInt('BENCH_CONNECTIONS', 64),
    cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
  };
}

// Every process we start is killed when we exit, whatever the reason.
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((child) => child.kill('SIGTERM')));
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** What each server child prints once it listens (see bench/servers/). */
interface BareInfo {
  url: string;
}
interface WebisoInfo extends BareInfo {
  issuer: string;
  loginPath: string;
  casLoginPath: string;
  casService: string;
  ticketsFile: string;
  cookie: string;
}

/** Starts a server child and waits for the JSON line it prints once it listens. */
async function startServer<T>(script: string, nodeFlags: string[] = []): Promise<{ child: ChildProcess; info: T }> {
  const child = track(spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path(script)], { cwd: path('.'), stdio: ['pipe', 'pipe', 'inherit'] }));
  const info = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready after 60 s`)), 60_000);
    child.once('exit', (code, signal) => reject(new Error(`${script} exited before it was ready (code ${code}, signal ${signal})`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${script} printed ${line}`));
      }
    });
  });
  return { child, info };
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}

/** autocannon in its own process (its CLI), so the load generator never competes with a server's event loop. */
function autocannonCli(settings: Settings, url: string, headers: Record<string, string>): ChildProcess {
  const { connections, duration, warmup } = settings;
  const args = ['--json', '-c', String(connections), '-d', String(duration), '-W', '[', '-c', String(connections), '-d', String(warmup), ']'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}:${value}`);
  return spawn(path('node_modules/.bin/autocannon'), [...args, url], { cwd: path('.'), stdio: ['ignore', 'pipe', 'inherit'] });
}

/** The validation target needs a new ticket per request: autocannon's API in its own process (bench/drivers). */
function ticketValidationDriver(settings: Settings, info: WebisoInfo): ChildProcess {
  const args = [info.url, info.ticketsFile, info.casService, settings.connections, settings.duration, settings.warmup].map(String);
  return spawn(process.execPath, ['--import', 'tsx', path('bench/drivers/ticket-validation.ts'), ...args], { cwd: path('.'), stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Runs one load generator and checks that every answer had the expected status: anything else measured another path. */
async function drive(label: string, load: ChildProcess, expectedStatus = 200): Promise<Measurement> {
  const child = track(load);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const last = output.trim().split('\n').pop();
  if (code !== 0 || !last) throw new Error(`autocannon for ${label} failed (exit ${code})`);
  const result = JSON.parse(last) as AutocannonResult;
  const unexpected = Object.entries(result.statusCodeStats).filter(([status]) => status !== String(expectedStatus));
  if (result.errors + result.timeouts > 0 || unexpected.length > 0) {
    throw new Error(`${label}: ${result.errors} errors, ${result.timeouts} timeouts, unexpected statuses ${JSON.stringify(Object.fromEntries(unexpected))}`);
  }
  return { label, requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, requests: result.requests.total };
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`pre-check failed: ${message}`);
}

const grantOf = (html: string) => /name="grant" value="([^"]+)"/.exec(html)?.[1];

/** Before measuring, prove the cookie yields a fresh, verifiable grant and its absence yields the login form. */
async function checkWebiso(info: WebisoInfo): Promise<void> {
  const target = info.url + info.loginPath;
  const ask = async (headers: Record<string, string>) => {
    const response = await fetch(target, { headers: { accept: 'text/html', ...headers }, redirect: 'manual' });
    return { status: response.status, body: await response.text() };
  };
  const first = await ask({ cookie: info.cookie });
  const second = await ask({ cookie: info.cookie });
  const anonymous = await ask({});
  const grant = grantOf(first.body);
  check(first.status === 200 && grant !== undefined, `with the SSO cookie: status ${first.status}, grant field ${grant ? 'present' : 'missing'}`);
  check(grantOf(second.body) !== grant, 'a second request returned the same grant');
  check(anonymous.status === 200 && anonymous.body.includes('name="password"') && grantOf(anonymous.body) === undefined, 'without the cookie: no login form');
  const jwks = (await (await fetch(`${info.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(grant, createLocalJWKSet(jwks), { issuer: info.issuer, audience: 'bench', typ: 'webiso-grant+jwt' });
  check(protectedHeader.alg === 'EdDSA' && payload.sub === 'bench', `grant: alg ${protectedHeader.alg}, sub ${payload.sub}`);
}

/** The CAS targets answer what they should: a 302 with a ticket, and a validation that releases the user. */
async function checkCas(info: WebisoInfo): Promise<void> {
  const login = await fetch(info.url + info.casLoginPath, { headers: { accept: 'text/html', cookie: info.cookie }, redirect: 'manual' });
  const location = login.headers.get('location') ?? '';
  check(login.status === 302 && location.startsWith(`${info.casService}?ticket=ST-`), `/cas/login answered ${login.status} ${location.slice(0, 60)}`);
  const ticket = new URL(location).searchParams.get('ticket') ?? '';
  const validation = await (await fetch(`${info.url}/cas/p3/serviceValidate?${new URLSearchParams({ service: info.casService, ticket })}`)).text();
  check(validation.includes('<cas:user>bench</cas:user>'), `validation of a fresh ticket: ${validation.slice(0, 200)}`);
}

async function checkBare(info: BareInfo): Promise<void> {
  const response = await fetch(info.url);
  check(response.status === 200 && (await response.text()).includes('hello'), `bare server answered ${response.status}`);
}

async function main(): Promise<void> {
  const settings = readSettings();
  const profiling = settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`] : [];
  const webiso = await startServer<WebisoInfo>('bench/servers/webiso-server.ts', profiling);
  const bare = await startServer<BareInfo>('bench/servers/bare-server.ts');
  try {
    await checkWebiso(webiso.info);
    await checkCas(webiso.info);
    await checkBare(bare.info);
    console.log(`measuring: ${settings.connections} connections, ${settings.warmup} s warm-up + ${settings.duration} s per target`);
    const html = { accept: 'text/html', cookie: webiso.info.cookie };
    const a = await drive('(a) webiso SSO redirect', autocannonCli(settings, webiso.info.url + webiso.info.loginPath, html));
    const b = await drive('(b) bare Fastify hello', autocannonCli(settings, `${bare.info.url}/`, { accept: 'text/html' }));
    const c = await drive('(c) CAS /cas/login with SSO (302 + ticket)', autocannonCli(settings, webiso.info.url + webiso.info.casLoginPath, html), 302);
    const d = await drive('(d) CAS /cas/p3/serviceValidate, fresh ticket', ticketValidationDriver(settings, webiso.info));
    const report = {
      date: new Date(),
      node: process.version,
      cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
      durationSeconds: settings.duration,
      warmupSeconds: settings.warmup,
      connections: settings.connections,
      baseline: b,
      targets: [
        { measurement: a, minRatio: TARGETS.ssoRatio },
        { measurement: c, minRatio: TARGETS.casRatio },
        { measurement: d, minRatio: TARGETS.casRatio },
      ],
    };
    console.log(`\n${renderTable(report)}\n\n${renderVerdict(report)}`);
    writeReport(path('docs/performance.md'), report);
    console.log('\nwritten to docs/performance.md (missing a target is reported, not an error)');
  } finally {
    await Promise.all([stop(webiso.child), stop(bare.child)]);
  }
  if (settings.cpuProfDir) console.log(`CPU profile of the webiso child written to ${settings.cpuProfDir}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
