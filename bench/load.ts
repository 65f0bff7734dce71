// Load generators: autocannon's CLI for one URL, autocannon's API where every request needs a new
// ticket; each in its own process. A run with errors, timeouts or an unexpected status aborts.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { path, track, type Settings } from './processes.ts';

export interface Measurement {
  readonly label: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}

export function autocannonCli(settings: Settings, url: string, headers: Record<string, string>): ChildProcess {
  const { connections, duration, warmup } = settings;
  const args = ['--json', '-c', String(connections), '-d', String(duration), '-W', '[', '-c', String(connections), '-d', String(warmup), ']'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}:${value}`);
  return spawn(path('node_modules/.bin/autocannon'), [...args, url], { cwd: path('.'), stdio: ['ignore', 'pipe', 'inherit'] });
}

/** The validation target needs a new ticket per request: autocannon's API in its own process (bench/drivers). */
export function ticketValidationDriver(settings: Settings, url: string, ticketsFile: string, service: string): ChildProcess {
  const args = [url, ticketsFile, service, settings.connections, settings.duration, settings.warmup].map(String);
  return spawn(process.execPath, ['--import', 'tsx', path('bench/drivers/ticket-validation.ts'), ...args], { cwd: path('.'), stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Runs one load generator and checks that every answer had the expected status: anything else measured another path. */
export async function drive(label: string, load: ChildProcess, expectedStatus = 200): Promise<Measurement> {
  const child = track(load);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const last = output.trim().split('\n').pop();
  if (code !== 0 || !last) throw new Error(`load for ${label} failed (exit ${code})`);
  const result = JSON.parse(last) as AutocannonResult;
  const unexpected = Object.entries(result.statusCodeStats).filter(([status]) => status !== String(expectedStatus));
  if (result.errors + result.timeouts > 0 || unexpected.length > 0) {
    throw new Error(`${label}: ${result.errors} errors, ${result.timeouts} timeouts, unexpected statuses ${JSON.stringify(Object.fromEntries(unexpected))}`);
  }
  console.log(`  ${label}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms`);
  return { label, requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, requests: result.requests.total };
}
