/**
 * Shared pieces of the Apache-based relying-client harnesses (apache-cas.ts, saml-chain.ts): find
 * apache2 and its modules, prepare a temp server root that the unprivileged Apache user can read,
 * start apache2 in the foreground with ${VAR} config expansion from its environment, and wait until
 * every Listen port answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findBinary, waitUntilServing } from './process.ts';

export const APACHE_MODULES = '/usr/lib/apache2/modules';

/** Throws (never skips) when a Debian package the harness needs is not installed. */
export function requireFiles(paths: readonly string[], installHint: string): void {
  for (const path of paths) {
    if (!existsSync(path)) throw new Error(`test harness: ${path} is missing (${installHint}; .ci/run installs it)`);
  }
}

export function findApache(installHint: string): string {
  const binary = findBinary('apache2', installHint);
  requireFiles(['mpm_prefork', 'authn_core', 'authz_core', 'alias', 'cgi'].map((m) => join(APACHE_MODULES, `mod_${m}.so`)), installHint);
  return binary;
}

const runningAsRoot = () => process.getuid?.() === 0;

/** uid/gid of www-data: Apache (the `User` in the config) switches to it when started as root. */
function wwwData(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('www-data:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('test harness: no www-data user in /etc/passwd (install apache2)');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Makes the server root readable by the Apache user (mkdtemp makes it 0700) and creates the usual
 * sub-directories; `writable` ones are handed to www-data when running as root.
 */
export async function prepareServerRoot(dir: string, writable: readonly string[] = []): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  for (const sub of ['run', 'logs', 'htdocs', 'cgi-bin', ...writable]) await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
  if (!runningAsRoot()) return;
  const { uid, gid } = wwwData();
  for (const sub of writable) await chown(join(dir, sub), uid, gid);
}

export interface SpawnApacheOptions {
  readonly binary: string;
  readonly dir: string;
  readonly confPath: string;
  /** the ${VAR}s of the config */
  readonly env: Record<string, string>;
  /** every Listen port: the server is ready when all of them answer */
  readonly ports: readonly number[];
  readonly name: string;
}

export const errorLogOf = (dir: string) => join(dir, 'logs', 'error.log');

export async function readErrorLog(dir: string): Promise<string> {
  return readFile(errorLogOf(dir), 'utf8').catch(() => '(no error log)');
}

/**
 * apache2 -DFOREGROUND: a prefork parent that stays in the foreground and exits on SIGTERM. Not -X,
 * whose single process is stalled by one idle connection (Chromium preconnects sockets).
 */
export async function spawnApache({ binary, dir, confPath, env, ports, name }: SpawnApacheOptions): Promise<ChildProcess> {
  // stdout: where mod_shib's console logger writes
  const stdout = openSync(join(dir, 'logs', 'stdout.log'), 'a');
  const child = spawn(binary, ['-d', dir, '-f', confPath, '-DFOREGROUND'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', ...env },
    stdio: ['ignore', stdout, 'pipe'],
    // its own process group: on shutdown the prefork parent SIGTERMs its whole group, which would
    // otherwise include this test process
    detached: true,
  });
  closeSync(stdout);
  try {
    for (const port of ports) await waitUntilServing(child, port, { name, readLog: () => readErrorLog(dir) });
  } catch (err) {
    await terminate(child);
    throw err;
  }
  return child;
}

/** Signals the process group of a `detached` child (its own workers included); no-op once gone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to the group, then SIGKILL if the leader has not exited after a second. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    signalGroup(child, 'SIGKILL'); // stray workers of a leader that died on its own
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 1000);
  await exited;
  clearTimeout(timer);
}

/**
 * stop() for `detached` processes sharing one temp dir: stops them in the given order, then removes
 * the dir, once however often it is called. Until then they are killed if the test process exits.
 */
export function stopAll(children: readonly ChildProcess[], dir: string): () => Promise<void> {
  const killOnExit = () => children.forEach((child) => signalGroup(child, 'SIGKILL'));
  process.once('exit', killOnExit);
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      for (const child of children) await terminate(child);
      await rm(dir, { recursive: true, force: true });
    })());
}
