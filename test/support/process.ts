/**
 * Small process and network helpers shared by the throwaway daemons of the test harnesses
 * (kdc.ts, slapd.ts): find a binary, run a tool, pick a free port, start a daemon and wait until it
 * serves, stop it and remove its temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 5000;

/** The daemon could not bind its port: the free port was taken between choosing and binding it. */
export class PortRaceError extends Error {}

/**
 * Runs one start attempt, again (up to three times in all) when it fails with a PortRaceError:
 * the free port is chosen before the daemon binds it, and another test may grab it in between.
 */
export async function startWithPortRetry<T>(startOnce: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      lastError = err;
      if (!(err instanceof PortRaceError)) throw err;
    }
  }
  throw lastError;
}

/** A fresh directory under the system temp dir, named with the prefix. */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Cleans up after a failed start: kills the daemon (if it was spawned) and removes its dir. */
export async function abandonStart(child: ChildProcess | undefined, dir: string): Promise<void> {
  child?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}

/** Finds a binary on PATH or in the sbin directories (not on a normal user's PATH), or throws. */
export function findBinary(name: string, installHint: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  for (const d of dirs.filter(Boolean)) {
    const candidate = join(d, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`test harness: '${name}' not found (${installHint})`);
}

export interface ToolOptions {
  /** the tool's environment (default: this process's) */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** written to the tool's stdin (default: nothing, stdin is closed at once) */
  readonly input?: string | undefined;
}

/** Runs a tool to completion; rejects with its stderr when it fails. */
export function runTool(file: string, args: readonly string[], { env, input }: ToolOptions = {}) {
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {}); // the tool may exit before reading its input
    child.stdin.end(input ?? '');
    child.on('error', (err) => reject(new Error(`${file}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${file} ${args.join(' ')} exited with ${code}:\n${stderr}${stdout}`));
    });
  });
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface WaitOptions {
  /** the daemon's name in error messages */
  readonly name: string;
  /** the daemon's log, appended to error messages */
  readonly readLog?: () => Promise<string>;
}

/**
 * Polls until the daemon accepts TCP connections; throws with its stderr (and log) if it dies
 * first, a PortRaceError when it died because the port was in use.
 */
export async function waitUntilServing(child: ChildProcess, port: number, { name, readLog }: WaitOptions): Promise<void> {
  let stderr = '';
  let exited: number | string | null | undefined;
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.once('exit', (code, signal) => (exited = code ?? signal));
  child.once('error', (err) => (exited = err.message));
  const log = async () => (readLog ? `\n${await readLog()}` : '');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const message = `${name} exited (${exited}):\n${stderr}${await log()}`;
      throw /in use/i.test(message) ? new PortRaceError(message) : new Error(message);
    }
    if (await tcpAnswers(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name} did not answer on port ${port} within ${READY_TIMEOUT_MS} ms:\n${stderr}${await log()}`);
}

/** SIGTERM, then SIGKILL if the daemon has not exited after a second. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
  await exited;
  clearTimeout(timer);
}

/**
 * The stop() of a harness: terminates the daemon and removes its dir, once however often it is
 * called. Until then the daemon is killed if the test process exits.
 */
export function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      await terminate(child);
      await rm(dir, { recursive: true, force: true });
    })());
}

/** A daemon that fault tests can kill (SIGKILL, its files kept) and start again on the same port. */
export interface Restartable {
  /** SIGKILL, as a crash or an operator would; resolves once it is gone */
  kill(): Promise<void>;
  /** the same command again, on the same port and files; resolves once it serves */
  restart(): Promise<void>;
  /** the harness's stop(): the current process, then the dir */
  stop(): Promise<void>;
}

export function restartable(first: ChildProcess, dir: string, port: number, name: string, respawn: () => ChildProcess): Restartable {
  let current = first;
  const stops = [stopper(first, dir)];
  return {
    async kill() {
      if (current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.kill('SIGKILL');
      await exited;
    },
    async restart() {
      current = respawn();
      stops.push(stopper(current, dir));
      await waitUntilServing(current, port, { name });
    },
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
