// Child processes of the benchmark: servers and load generators, each in its own process so no two
// share an event loop; every one of them is killed when the harness exits, whatever the reason.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('..', import.meta.url);
export const path = (relative: string) => fileURLToPath(new URL(relative, ROOT));

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: must be a positive integer, got "${raw}"`);
  return value;
}

export interface Settings {
  readonly duration: number;
  readonly warmup: number;
  readonly connections: number;
  /** BENCH_CPU_PROF=DIR: write a V8 CPU profile of the webiso children into DIR (open in Chrome DevTools) */
  readonly cpuProfDir: string | undefined;
}

export function readSettings(): Settings {
  return {
    duration: positiveInt('BENCH_DURATION', 10),
    warmup: positiveInt('BENCH_WARMUP', 2),
    connections: positiveInt('BENCH_CONNECTIONS', 64),
    cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
  };
}

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((child) => child.kill('SIGTERM')));
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Starts a server child and waits for the JSON line it prints once it listens. */
export async function startServer<T>(script: string, env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<{ child: ChildProcess; info: T }> {
  const child = track(spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path(script)], { cwd: path('.'), env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] }));
  const info = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready after 120 s`)), 120_000);
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

/** Runs a one-shot measuring script (bench/micro) in its own process; resolves with its JSON line. */
export async function runMicro<T>(script: string, args: string[]): Promise<T> {
  const child = track(spawn(process.execPath, ['--import', 'tsx', path(script), ...args], { cwd: path('.'), stdio: ['ignore', 'pipe', 'inherit'] }));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const last = output.trim().split('\n').pop();
  if (code !== 0 || !last) throw new Error(`${script} failed (exit ${code})`);
  return JSON.parse(last) as T;
}
