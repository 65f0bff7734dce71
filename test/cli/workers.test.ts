import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { runCli } from '../../src/cli/main.ts';
import { formField, parse, requestLines, startServedWebiso, waitFor, writeServedConfig, type LogLine } from '../support/served-webiso.ts';

const PASSWORD = 'a passphrase for two workers';
const RETURN = 'http://127.0.0.1:9/cb';
const LOGIN_PATH = `/login?${new URLSearchParams({ appid: 'app', return: RETURN, nonce: 'n-workers' })}`;
const APPS = ['apps:', `  - { id: app, name: App, returnUrls: ['${RETURN}'] }`];

interface Answer {
  readonly status: number;
  readonly setCookies: string[];
  readonly body: string;
}

/**
 * One request on a TCP connection of its own (no pool, `Connection: close`): node:cluster hands
 * every new connection to the next worker in turn, so successive requests reach both.
 */
function freshRequest(url: string, { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {}, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: false, timeout: timeoutMs, headers: { connection: 'close', accept: 'text/html', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookies: res.headers['set-cookie'] ?? [], body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** A cookie jar over fresh connections: one browser whose every request may reach another worker. */
class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}
  async send(path: string, options: { method?: string; form?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
    if (options.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const answer = await freshRequest(this.base + path, { method: options.method ?? 'GET', headers, body: options.form ? new URLSearchParams(options.form).toString() : undefined });
    for (const line of answer.setCookies) {
      const [name, ...value] = line.split(';')[0]!.split('=');
      this.cookies.set(name!, value.join('='));
    }
    return answer;
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** pid → worker id of the workers started and not (yet) seen exiting, from the primary's lines. */
function liveWorkers(lines: LogLine[]): Map<number, number> {
  const live = new Map<number, number>();
  for (const line of lines) {
    if (line.event === 'worker.started') live.set(line.workerPid!, line.worker!);
    if (line.event === 'worker.exited' || line.event === 'worker.stopped') live.delete(line.workerPid!);
  }
  return live;
}

/** Per scrape of /metrics: the password logins and SSO answers it counts (every worker's, summed by the primary). */
function loginCounts(metrics: string): { success: number; sso: number } {
  const count = (outcome: string) => Number(new RegExp(`^webiso_logins_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
  return { success: count('success'), sso: count('sso') };
}

describe('webiso serve --workers 2: one port, one database, supervised', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-workers-'));
  let server: { child: ChildProcess; url: string; output: () => string };
  before(async () => {
    const configPath = await writeServedConfig(dir, APPS, ['alice'], PASSWORD);
    server = await startServedWebiso(configPath, { workers: 2 });
  });
  after(() => {
    server?.child.kill('SIGKILL');
    for (const pid of liveWorkers(parse(server?.output() ?? '')).keys()) if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts two worker processes under the primary, and both answer on the one port', { timeout: 60_000 }, async () => {
    const lines = parse(server.output());
    assert.equal(lines.find((line) => line.event === 'workers.starting')?.msg, 'starting 2 workers');
    assert.equal(lines.find((line) => line.event === 'server.started')?.msg.startsWith('webiso started with 2 workers'), true);
    const workers = liveWorkers(lines);
    assert.deepEqual([...workers.values()].sort(), [1, 2]);
    for (const pid of workers.keys()) assert.equal(parentOf(pid), server.child.pid, `worker ${pid} is a child of the primary`);
    for (let i = 0; i < 8; i++) assert.equal((await freshRequest(`${server.url}/healthz`)).status, 200);
    const served = await waitFor(server.output, (all) => (requestLines(all, 'GET', '/healthz').length === 8 ? requestLines(all, 'GET', '/healthz') : undefined), '8 request lines');
    assert.deepEqual([...new Set(served.map((line) => line.worker))].sort(), [1, 2], 'request lines of both workers');
    assert.deepEqual(new Set(served.map((line) => line.pid)), new Set(workers.keys()), 'each line from the worker process it names');
  });

  it('a person logs in through one worker and gets SSO from the other (one shared store: the WAL file, or PostgreSQL)', { timeout: 60_000 }, async () => {
    const browser = new Browser(server.url);
    const form = await browser.send(LOGIN_PATH);
    const login = await browser.send('/login', { method: 'POST', form: { ctx: formField(form.body, 'ctx'), csrf: formField(form.body, 'csrf'), username: 'alice', password: PASSWORD } });
    assert.equal(login.status, 200);
    assert.match(login.body, /name="grant"/);
    const grants: string[] = [];
    for (let i = 0; i < 6; i++) {
      const sso = await browser.send(LOGIN_PATH);
      assert.equal(sso.status, 200);
      assert.doesNotMatch(sso.body, /name="password"/, 'no prompt: the SSO session was found');
      grants.push(formField(sso.body, 'grant'));
    }
    assert.equal(new Set(grants.map((grant) => decodeProtectedHeader(grant).kid)).size, 1, 'both sign with the one stored key');
    // every worker answered some of them (a fresh connection each: Node hands them out in turn)
    const ssoLines = await waitFor(server.output, (all) => (requestLines(all, 'GET', '/login').length >= 7 ? requestLines(all, 'GET', '/login') : undefined), '7 login request lines');
    assert.deepEqual([...new Set(ssoLines.map((line) => line.worker))].sort(), [1, 2], 'both workers answered the login and SSO requests');
    // /metrics sums the workers (src/ops/cluster-metrics.ts): whichever worker a scrape reaches, it counts all
    const scrapes = await Promise.all(Array.from({ length: 6 }, async () => {
      const answer = await freshRequest(`${server.url}/metrics`);
      assert.equal(answer.status, 200, answer.body);
      return loginCounts(answer.body);
    }));
    assert.deepEqual(scrapes, Array.from({ length: 6 }, () => ({ success: 1, sso: 6 })), 'every scrape sees the one password login and all six SSO answers');
    const metricsLines = requestLines(parse(server.output()), 'GET', '/metrics');
    assert.deepEqual([...new Set(metricsLines.map((line) => line.worker))].sort(), [1, 2], 'scrapes reached both workers');
  });

  it('kill -9 of a worker: logged, replaced, and requests keep succeeding during and after', { timeout: 120_000 }, async () => {
    const [victim] = [...liveWorkers(parse(server.output()))].find(([, id]) => id === 1)!;
    const results: Array<{ at: number; ok: boolean }> = [];
    let replacementReadyAt = Number.POSITIVE_INFINITY;
    const afterReady = () => results.filter((result) => result.ok && result.at > replacementReadyAt).length;
    const load = (async () => {
      // one request at a time: at most the one in flight, or the one handed to the dying worker, can fail.
      // A connection handed to the dying worker hangs until its timeout; a short one keeps the
      // window before the replacement is ready from being spent waiting on it.
      while (afterReady() < 20) {
        const ok = await freshRequest(`${server.url}/healthz`, {}, 750).then((answer) => answer.status === 200, () => false);
        results.push({ at: Date.now(), ok });
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const exited = await waitFor(server.output, (lines) => lines.find((line) => line.event === 'worker.exited'), 'worker.exited');
    assert.deepEqual([exited.worker, exited.workerPid, exited.code, exited.signal], [1, victim, null, 'SIGKILL']);
    const ready = await waitFor(server.output, (lines) => lines.find((line) => line.event === 'worker.ready' && line.worker === 3), 'the replacement worker');
    replacementReadyAt = Date.parse(ready.time);
    await load;
    const lines = parse(server.output());
    assert.ok(lines.some((line) => line.event === 'worker.started' && line.worker === 3), 'worker.started for the replacement');
    assert.equal(parentOf(ready.workerPid!), server.child.pid);
    assert.equal(existsSync(`/proc/${victim}`), false);
    const failures = results.filter((result) => !result.ok).length;
    assert.ok(failures <= 2, `${failures} of ${results.length} requests failed`);
    assert.ok(results.filter((result) => result.ok && result.at > killedAt && result.at < replacementReadyAt).length > 0, 'the other worker answered while the replacement started');
    assert.ok(requestLines(lines, 'GET', '/healthz').some((line) => line.worker === 3), 'the replacement serves');
    // the primary now sums worker 2 and its replacement: a scrape still answers, with every worker's requests
    const metrics = await freshRequest(`${server.url}/metrics`);
    assert.equal(metrics.status, 200, metrics.body);
    const healthz = Number(/^webiso_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="2xx"\} (\d+)/m.exec(metrics.body)?.[1]);
    assert.ok(healthz >= 20, `the summed /healthz count (${healthz}) covers the requests answered since the kill`);
    assert.match(metrics.body, /^nodejs_eventloop_lag_seconds /m, 'the process metrics are aggregated too');
  });

  it('SIGTERM to the primary: every worker drains and exits, then the primary exits 0', { timeout: 60_000 }, async () => {
    const workers = liveWorkers(parse(server.output()));
    assert.equal(workers.size, 2);
    // 'close', not 'exit': the last lines may still be in the pipe when the process has exited
    const exited = once(server.child, 'close');
    server.child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    const lines = parse(server.output());
    assert.equal(code, 0, server.output());
    for (const [pid, id] of workers) {
      assert.equal(existsSync(`/proc/${pid}`), false, `worker ${id} (pid ${pid}) is gone`);
      assert.ok(lines.some((line) => line.event === 'server.stopped' && line.worker === id && line.pid === pid), `worker ${id} drained and said so`);
    }
    assert.equal(lines.find((line) => line.event === 'server.stopping' && line.worker === undefined)?.msg, 'received SIGTERM: stopping 2 workers');
    assert.equal(lines.at(-1)?.event, 'server.stopped');
    assert.equal(lines.at(-1)?.exitCode, 0);
  });
});

describe('webiso serve --workers: stopping and crash loops', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-workers-stop-'));
  let configPath: string;
  const started: ChildProcess[] = [];
  before(async () => {
    configPath = await writeServedConfig(dir, APPS, [], PASSWORD);
  });
  after(() => {
    for (const child of started) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a SIGTERM to the whole process group (a service manager\'s stop) still drains every worker once', { timeout: 120_000 }, async () => {
    const server = await startServedWebiso(configPath, { workers: 2 });
    started.push(server.child);
    const workers = liveWorkers(parse(server.output()));
    const exited = once(server.child, 'close');
    // the primary forwards its own SIGTERM on top: a worker must not die of the repeat mid-drain
    for (const pid of [server.child.pid!, ...workers.keys()]) process.kill(pid, 'SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, server.output());
    const lines = parse(server.output());
    for (const [pid, id] of workers) {
      assert.ok(lines.some((line) => line.event === 'server.stopped' && line.worker === id), `worker ${id} drained`);
      assert.ok(lines.some((line) => line.event === 'worker.stopped' && line.workerPid === pid && line.code === 0), `worker ${id} exited 0`);
    }
  });

  it('more than 5 unexpected exits within 30 s: workers.crash_loop, everything stopped, status 1', { timeout: 120_000 }, async () => {
    const server = await startServedWebiso(configPath, { workers: 2 });
    started.push(server.child);
    const exited = once(server.child, 'close');
    const everyWorker = new Set<number>();
    let code: number | null | undefined;
    void exited.then(([status]) => (code = status as number | null));
    // kill each worker, replacements included, as soon as the primary names it
    while (code === undefined) {
      for (const pid of liveWorkers(parse(server.output())).keys()) {
        if (everyWorker.has(pid)) continue;
        everyWorker.add(pid);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(code, 1);
    const lines = parse(server.output());
    const crashLoop = lines.find((line) => line.event === 'workers.crash_loop');
    assert.ok(crashLoop, server.output());
    assert.match(crashLoop.msg, /^6 workers exited within 30 s: stopping instead of starting more$/);
    assert.equal(lines.filter((line) => line.event === 'worker.exited').length, 6, 'no worker started after the sixth exit');
    for (const pid of everyWorker) assert.equal(existsSync(`/proc/${pid}`), false, `pid ${pid} is gone`);
  });
});

describe('webiso serve --workers: bad values', () => {
  /** `webiso serve ARGS` in this process: a bad value is refused before anything starts. */
  async function serveInProcess(args: string[], env: Record<string, string> = {}) {
    const errors: string[] = [];
    const error = console.error;
    const set = { WEBISO_CONFIG: '/nonexistent/webiso.yaml', WEBISO_WORKERS: undefined, ...env };
    const saved = Object.fromEntries(Object.keys(set).map((name) => [name, process.env[name]]));
    const assign = (values: Record<string, string | undefined>) => {
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
    assign(set);
    console.error = (...parts: unknown[]) => void errors.push(parts.join(' '));
    try {
      return { code: await runCli(['serve', ...args]), stderr: errors.join('\n') };
    } finally {
      console.error = error;
      assign(saved);
    }
  }

  it('refuses anything but a whole number from 1 to 64, naming --workers', async () => {
    for (const value of ['0', 'abc', '1.5', '-2', '65', '']) {
      assert.deepEqual(await serveInProcess(['--workers', value]), { code: 1, stderr: `webiso: invalid --workers "${value}": use a whole number from 1 to 64` }, value);
    }
    assert.deepEqual(await serveInProcess([], { WEBISO_WORKERS: 'two' }), { code: 1, stderr: 'webiso: invalid environment: WEBISO_WORKERS (--workers): must be a whole number from 1 to 64, got "two"' });
  });

  it('the real command exits with status 1 and says so on standard error', { timeout: 60_000 }, () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--workers', '0'], { env: { ...process.env, WEBISO_CONFIG: '/nonexistent/webiso.yaml' }, encoding: 'utf8' });
    assert.deepEqual([result.status, result.stdout, result.stderr], [1, '', 'webiso: invalid --workers "0": use a whole number from 1 to 64\n']);
  });
});
