import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import type { StoreConfig } from '../../src/store/config-schema.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { createUsersRepository } from '../../src/db/users.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { testStoreConfig } from './test-store.ts';

/**
 * webiso as an operator runs it: `webiso serve` in its own process on a config file, so tests can
 * kill it (SIGKILL, SIGTERM) and open its database afterwards. Each user gets the same password.
 * The store is this run's engine (test/support/test-store.ts) unless the test names one; open it
 * again afterwards with `openServedStore`.
 */
export async function writeServedConfig(dir: string, lines: readonly string[], users: readonly string[], password: string, store: StoreConfig = testStoreConfig(dir)): Promise<string> {
  const configPath = join(dir, 'webiso.yaml');
  // logLevel info: the start-up line "webiso is listening on URL" is how the test learns the port
  writeFileSync(configPath, ['issuer: http://127.0.0.1:0', `dataDir: ${join(dir, 'data')}`, `store: ${JSON.stringify(store)}`, 'listen: { host: 127.0.0.1, port: 0 }', 'logLevel: info', ...lines].join('\n'));
  const opened = await openServedStore(configPath);
  const hash = await hashPassword(password);
  for (const user of users) await createUsersRepository(opened.db).add(user, hash, [], new Date());
  await opened.close();
  return configPath;
}

/** The store a served config names (after the server stopped, or beside it: both engines allow that). */
export async function openServedStore(configPath: string): Promise<Store> {
  const config = parseConfig(parseYaml(readFileSync(configPath, 'utf8')) as Record<string, unknown>);
  return openStore(config);
}

export interface ServedOptions {
  /** `serve --workers N`; 1 (the default) is one process, as before --workers existed */
  readonly workers?: number;
}

/** The URL the server announced: the first "listening on" line, or with workers the primary's server.started once all listen. */
function announcedUrl(output: string, workers: number): string | undefined {
  if (workers === 1) return /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
  return /"event":"server\.started","url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1];
}

export function startServedWebiso(configPath: string, { workers = 1 }: ServedOptions = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--workers', String(workers)], { env: { ...process.env, WEBISO_CONFIG: configPath }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    // workers start one after another (src/cli/cluster.ts)
    const timer = setTimeout(() => reject(new Error(`webiso did not start:\n${output}`)), 20_000 * workers);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = announcedUrl(output, workers);
      if (url) {
        clearTimeout(timer);
        resolve({ child, url, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`webiso exited (${code}):\n${output}`)));
  });
}

/** One browser over fetch: a cookie jar, no redirects followed. */
export class FetchBrowser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}
  async get(path: string) {
    const response = await fetch(this.base + path, { headers: { accept: 'text/html', cookie: this.header() }, redirect: 'manual' });
    this.keep(response);
    return { status: response.status, location: response.headers.get('location'), body: await response.text() };
  }
  async post(path: string, fields: Record<string, string>) {
    const response = await fetch(this.base + path, { method: 'POST', headers: { accept: 'text/html', cookie: this.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields), redirect: 'manual' });
    this.keep(response);
    return { status: response.status, body: await response.text() };
  }
  private header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  private keep(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [name, ...value] = line.split(';')[0]!.split('=');
      this.cookies.set(name!, value.join('='));
    }
  }
}

export const formField = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]?.replace(/&amp;/g, '&') ?? '';

/** One JSON log line of a served webiso (pino), the fields the tests read. */
export interface LogLine {
  readonly time: string;
  readonly msg: string;
  readonly pid: number;
  readonly event?: string;
  readonly worker?: number;
  readonly workerPid?: number;
  readonly code?: number | null;
  readonly signal?: string | null;
  readonly exitCode?: number;
  readonly req?: { readonly method: string; readonly path: string };
}

/** The JSON lines of a server's output. */
export const parse = (output: string): LogLine[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

/** Polls the server's output until `find` returns something. */
export async function waitFor<T>(output: () => string, find: (lines: LogLine[]) => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find(parse(output()));
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Fastify's "incoming request" lines for one method and path: the requests the server has read. */
export const requestLines = (lines: LogLine[], method: string, path: string) => lines.filter((line) => line.msg === 'incoming request' && line.req?.method === method && line.req.path === path);
