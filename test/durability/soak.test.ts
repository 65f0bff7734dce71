import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { JSONWebKeySet } from 'jose';
import { formCsrf } from '../support/machines.ts';
import { loadSteps, minting, Tally, untilDeadline, withSession, type LoadTarget } from '../support/mixed-load.ts';
import { FetchBrowser, formField, startServedWebiso, writeServedConfig } from '../support/served-webiso.ts';

/**
 * Issue 12's soak: one served webiso (SQLite) under mixed load for SOAK_SECONDS (default 60) at a
 * fixed concurrency that saturates this 2-core machine; every response checked, no 5xx, RSS flat
 * after the warm-up, and no collapse of the request rate or of the server's CPU cost per request.
 */
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
if (!(SOAK_SECONDS >= 15)) throw new Error(`SOAK_SECONDS must be at least 15, got ${process.env.SOAK_SECONDS}`);
const PASSWORD = 'a soak-tested passphrase';
const RETURN = 'http://127.0.0.1:9/cb';
const SERVICE = 'http://127.0.0.1:9/cas/';
const SSO_USERS = ['alice', 'bob'];
const DESK_USERS = ['dave', 'erin'];
const KIOSK = 'kiosk1.kiosk.example.edu';
const MINTED_KIOSK = 'kiosk2.kiosk.example.edu';
/**
 * The run is cut in three: the first third is warm-up (JIT, SQLite's page cache, V8 sizing its
 * heap) and is not judged; the first WINDOW_SECONDS after it are compared with the last. Figures
 * are medians of one sample a second, which smooths argon2's 19 MiB per hash in flight.
 */
const WARMUP_SECONDS = Math.ceil(SOAK_SECONDS / 3);
const WINDOW_SECONDS = Math.max(5, Math.round(SOAK_SECONDS / 6));
/**
 * RSS growth allowed from the window after warm-up to the last one. Measured (60 s runs, 2 shared
 * CPUs): the 10 s medians wander by up to 22 MiB without any trend, following how many of up to
 * three password hashes (19 MiB each) are in flight and when the allocator hands memory back; the
 * growth seen was -9 to +10 MiB. 48 MiB is twice that wander, with room to spare. An injected
 * leak of 16 KiB per request failed it at 100 requests/s; a longer SOAK_SECONDS (or a faster
 * machine) makes the same bound catch smaller leaks.
 */
const RSS_GROWTH_BOUND_MIB = 48;
/**
 * The last window's request rate against the first window after warm-up. Other work on the 2 CPUs
 * (the runner runs two test files at once) moved the 10 s rate 3.5-fold within one run here, so
 * only a 5-fold drop counts as a collapse; the CPU check below is the sharp one.
 */
const MIN_RATE_RATIO = 0.2;
/** The server's CPU time per request may not double: unlike the rate, it does not depend on who else uses the CPUs. */
const MAX_CPU_PER_REQUEST_RATIO = 2;
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface Sample {
  readonly at: number;
  readonly rssKiB: number;
  readonly cpuTicks: number;
}

/** VmRSS and user + system CPU of a process, from /proc. */
function sampleProcess(pid: number, at: number): Sample {
  const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  // fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { at, rssKiB, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const mib = (kib: number) => (kib / 1024).toFixed(1);

/** Requests, RSS and CPU of one window of the run [from, from + WINDOW_SECONDS); NaN figures (failing every check) without samples. */
function windowFigures(tally: Tally, samples: readonly Sample[], from: number) {
  const inside = samples.filter((sample) => sample.at >= from && sample.at < from + WINDOW_SECONDS);
  const requests = tally.perSecond.slice(from, from + WINDOW_SECONDS).reduce((sum, n) => sum + (n ?? 0), 0);
  const rate = requests / WINDOW_SECONDS;
  if (inside.length < 2) return { rate, rssKiB: NaN, cpuMsPerRequest: NaN };
  const cpuMsPerSecond = ((inside.at(-1)!.cpuTicks - inside[0]!.cpuTicks) * 1000) / CLOCK_TICKS / (inside.at(-1)!.at - inside[0]!.at);
  return { rate, rssKiB: median(inside.map((sample) => sample.rssKiB)), cpuMsPerRequest: cpuMsPerSecond / rate };
}

/**
 * The helper's start-up listeners rescan all output on every chunk; at hundreds of log lines a
 * second that would eat the load generator's CPU. Replaced by one that keeps only error-level and
 * non-JSON lines (a crash trace, a Node warning).
 */
function watchServerLog(child: ChildProcess): string[] {
  const errors: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.removeAllListeners('data');
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line !== '' && (/"level":(50|60)/.test(line) || !line.startsWith('{'))) errors.push(line);
    });
  }
  return errors;
}

/** The issuer from the server.started line, logged just after "listening on". */
async function startedIssuer(output: () => string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const issuer = /"event":"server.started"[^\n]*?"issuer":"([^"]+)"/.exec(output())?.[1];
    if (issuer) return issuer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no server.started line:\n${output()}`);
}

async function runCli(configPath: string, args: string[]): Promise<void> {
  const cli = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, WEBISO_CONFIG: configPath }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  cli.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(cli, 'exit')) as [number | null];
  assert.equal(code, 0, `webiso ${args.join(' ')}: ${stderr}`);
}

/** Registers the kiosks through the admin pages. */
async function registerMachines(url: string, fqdns: readonly string[]): Promise<void> {
  const admin = new FetchBrowser(url);
  const form = await admin.get('/admin/login?next=/admin');
  assert.equal((await admin.post('/admin/login', { csrf: formField(form.body, 'csrf'), next: '/admin', username: 'root', password: PASSWORD })).status, 303);
  for (const fqdn of fqdns) {
    const csrf = formCsrf((await admin.get('/admin')).body, '/admin/machines');
    assert.ok(csrf, 'the add-machine form');
    const added = await admin.post('/admin/machines', { csrf, fqdn, location: 'Soak floor', entitlements: 'library-walk-in' });
    assert.equal(added.status, 303, `adding ${fqdn}`);
  }
}

describe('durability: soak under mixed load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-soak-'));
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${SOAK_SECONDS} s of mixed load: no 5xx, every response valid, RSS flat after warm-up, no collapse`, { timeout: (SOAK_SECONDS + 90) * 1000 }, async (t) => {
    const lines = [
      // thousands of silent answers a second for one session is exactly what the loop breaker stops
      'loopGuard: { maxAnswers: 0 }',
      'machines: { mintPolicy: [{ roles: [admin], fqdns: ["*.kiosk.example.edu"] }] }',
      'apps:',
      `  - { id: app, name: App, returnUrls: ['${RETURN}'], flavors: [basic, machineoruser] }`,
      `  - { id: casapp, name: CAS App, cas: { services: ['${SERVICE}'] } }`,
    ];
    const configPath = await writeServedConfig(dir, lines, [...SSO_USERS, 'carol', ...DESK_USERS, 'root'], PASSWORD);
    await runCli(configPath, ['user', 'role', 'root', '--add', 'admin']);
    const server = await startServedWebiso(configPath);
    child = server.child;
    const issuer = await startedIssuer(server.output);
    const serverErrors = watchServerLog(server.child);
    await registerMachines(server.url, [KIOSK, MINTED_KIOSK]);
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const target: LoadTarget = { url: server.url, issuer, appId: 'app', returnUrl: RETURN, casService: SERVICE, password: PASSWORD, admin: 'root', jwks };

    const setup = new Tally();
    const kioskCookie = await loadSteps(target, setup).mint(KIOSK);
    assert.equal(setup.invalid, 0, setup.report());

    const loadBefore = loadavg()[0]!;
    const generatorCpu = process.cpuUsage();
    const tally = new Tally();
    const steps = loadSteps(target, tally);
    const samples: Sample[] = [];
    const sample = () => {
      try {
        samples.push(sampleProcess(server.child.pid!, tally.elapsedSeconds()));
      } catch {
        // the server is gone: asserted below
      }
    };
    const sampler = setInterval(sample, 1000);
    // closed loops, one request in flight each; argon2 (password and admin logins) a few a second, as at a real desk
    const mix: Array<[workers: number, journey: (index: number) => () => Promise<void>]> = [
      [8, (i) => withSession(steps, SSO_USERS[i % 2]!, (browser) => steps.ssoRedirect(browser, SSO_USERS[i % 2]!))],
      [6, () => withSession(steps, 'carol', (browser) => steps.casLoginAndValidate(browser, 'carol'))],
      [6, () => () => steps.kioskRequest(kioskCookie, KIOSK)],
      [2, (i) => async () => {
        const username = DESK_USERS[i]!;
        const browser = await steps.passwordLogin(username);
        for (let n = 0; n < 3; n++) await steps.ssoRedirect(browser, username);
        await steps.casLoginAndValidate(browser, username);
        await steps.logout(browser);
      }],
      [1, () => () => steps.jwks()],
      [1, () => minting(steps, tally, SOAK_SECONDS, MINTED_KIOSK, 3000)],
    ];
    const concurrency = mix.reduce((sum, [workers]) => sum + workers, 0);
    await Promise.all(mix.flatMap(([workers, journey]) => Array.from({ length: workers }, (_, i) => untilDeadline(tally, SOAK_SECONDS, journey(i)))));
    clearInterval(sampler);
    sample();

    const seconds = tally.elapsedSeconds();
    const generatorUsage = process.cpuUsage(generatorCpu);
    const generatorCpuShare = (generatorUsage.user + generatorUsage.system) / 1e6 / seconds;
    const first = windowFigures(tally, samples, WARMUP_SECONDS);
    const last = windowFigures(tally, samples, SOAK_SECONDS - WINDOW_SECONDS);
    const byKind = Object.entries(tally.byKind).map(([kind, n]) => `${kind} ${n}`).join(', ');
    const trace = Array.from({ length: Math.floor(SOAK_SECONDS / 5) }, (_, i) => mib(median(samples.filter((s) => s.at >= i * 5 && s.at < i * 5 + 5).map((s) => s.rssKiB)))).join(' ');
    t.diagnostic(
      `soak ${seconds.toFixed(0)} s: ${tally.total} requests, ${(tally.total / seconds).toFixed(0)}/s (after warm-up ${first.rate.toFixed(0)}/s, last ${WINDOW_SECONDS} s ${last.rate.toFixed(0)}/s, ${concurrency} workers); ` +
        `server CPU ${first.cpuMsPerRequest.toFixed(3)} → ${last.cpuMsPerRequest.toFixed(3)} ms/request; load generator ${(generatorCpuShare * 100).toFixed(0)}% of a CPU; load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}; RSS start ${mib(samples[0]!.rssKiB)} MiB, after warm-up ${mib(first.rssKiB)} MiB, end ${mib(last.rssKiB)} MiB (5 s medians: ${trace}); ${byKind}`,
    );

    assert.equal(tally.serverErrors, 0, `5xx answers among the invalid ones: ${tally.report()}`);
    assert.equal(tally.invalid, 0, `invalid answers: ${tally.report()}`);
    assert.deepEqual(serverErrors.slice(0, 5), [], 'no error line in the server log');
    assert.equal(server.child.exitCode, null, 'the server is still running');
    for (const kind of ['password-login', 'sso', 'kiosk', 'kiosk-stale-cookie', 'cas-validate', 'logout', 'after-logout', 'jwks', 'mint']) assert.ok((tally.byKind[kind] ?? 0) > 0, `some ${kind} requests: ${byKind}`);
    const growthMiB = (last.rssKiB - first.rssKiB) / 1024;
    assert.ok(growthMiB < RSS_GROWTH_BOUND_MIB, `RSS grew ${growthMiB.toFixed(1)} MiB after warm-up (bound ${RSS_GROWTH_BOUND_MIB} MiB): ${trace}`);
    assert.ok(last.rate >= MIN_RATE_RATIO * first.rate, `request rate collapsed: ${first.rate.toFixed(0)}/s → ${last.rate.toFixed(0)}/s`);
    assert.ok(last.cpuMsPerRequest <= MAX_CPU_PER_REQUEST_RATIO * first.cpuMsPerRequest, `server CPU per request grew: ${first.cpuMsPerRequest.toFixed(3)} → ${last.cpuMsPerRequest.toFixed(3)} ms`);
  });
});
