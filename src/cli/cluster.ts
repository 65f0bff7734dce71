import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../config/load.ts';
import type { WebisoConfig } from '../config/schema.ts';
import { getOrCreateSecret } from '../db/secrets.ts';
import { loggerOptions } from '../logger.ts';
import { createMetricsAggregator } from '../ops/cluster-metrics.ts';
import { WORKER_COUNT_ENV } from '../verifiers/hash-concurrency.ts';
import { openStore } from '../store/store.ts';
import { startDemo } from './demo-app.ts';
import { CliError } from './errors.ts';
import { onFirstSignal, SHUTDOWN_DEADLINE_MS, STOP_SIGNALS } from './shutdown.ts';

/**
 * `webiso serve --workers N` (N > 1): this process is the primary of a node:cluster. It checks the
 * config, applies migrations once, forks N workers that each run the ordinary server on the one
 * shared port (Node hands each new connection to the next worker in turn), replaces a worker that
 * dies, and stops them all on SIGTERM/SIGINT. It serves no request and keeps no database open.
 */

export const MAX_WORKERS = 64;
/** More unexpected exits than this within the window mean a crash loop: stop instead of forking forever. */
export const CRASH_LOOP_EXITS = 5;
export const CRASH_LOOP_WINDOW_MS = 30_000;
/** A worker gets its own deadline (SHUTDOWN_DEADLINE_MS) to drain; this much later the primary kills what is left. */
const KILL_GRACE_MS = 2_000;
/** Set in the environment of the workers the primary forks, so a foreign cluster (PM2's) is not mistaken for ours. */
const WORKER_ENV = 'WEBISO_CLUSTER_WORKER';

export const WORKER_READY = 'webiso.worker_ready';
/** What a worker sends the primary once it listens. */
export interface WorkerReady {
  readonly type: typeof WORKER_READY;
  readonly url: string;
}

const isReady = (message: unknown): message is WorkerReady =>
  typeof message === 'object' && message !== null && (message as WorkerReady).type === WORKER_READY && typeof (message as WorkerReady).url === 'string';

export function isOurWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === '1';
}

function parseWorkers(value: string): number | undefined {
  return /^[0-9]{1,3}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_WORKERS ? Number(value) : undefined;
}

/** --workers, else WEBISO_WORKERS, else one worker per CPU this process may use. */
export function workerCount(flag: string | undefined, env: NodeJS.ProcessEnv): number {
  if (flag !== undefined) {
    const count = parseWorkers(flag);
    if (count === undefined) throw new CliError(`invalid --workers "${flag}": use a whole number from 1 to ${MAX_WORKERS}`);
    return count;
  }
  const fromEnv = env.WEBISO_WORKERS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const count = parseWorkers(fromEnv);
    if (count === undefined) throw new CliError(`invalid environment: WEBISO_WORKERS (--workers): must be a whole number from 1 to ${MAX_WORKERS}, got "${fromEnv}"`);
    return count;
  }
  return Math.min(availableParallelism(), MAX_WORKERS);
}

interface Setup {
  readonly config: WebisoConfig;
  readonly path: string;
  readonly workers: number;
  readonly demoSecret: Buffer | undefined;
  readonly log: Logger;
}

type Phase = 'starting' | 'running' | 'stopping';

class Supervisor {
  private phase: Phase = 'starting';
  private readonly live = new Map<number, Worker>();
  private readonly ready = new Set<number>();
  private readonly unexpectedExits: number[] = [];
  private failed = false;
  private demoClosed: Promise<unknown> = Promise.resolve();
  private closeDemo: (() => Promise<void>) | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(private readonly setup: Setup) {}

  start(): void {
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    onFirstSignal(STOP_SIGNALS, (signal) => {
      onFirstSignal(STOP_SIGNALS, (again) => this.killNow(again));
      this.stop(signal);
    });
    // webiso reloads its certificate on SIGHUP only when it serves TLS itself; otherwise SIGHUP ends it, as before
    if (this.setup.config.tls) process.on('SIGHUP', () => this.signalReady('SIGHUP'));
    // started with an IPC channel (a process manager, the benchmark) that is now gone: stop, as a worker does when we go
    if (process.send) process.once('disconnect', () => this.stop('parent_exited'));
    // the first worker alone: on a new database it creates the signing keys the others then load
    this.fork();
  }

  // a scrape reaching any worker sums the ready ones (src/ops/cluster-metrics.ts)
  private readonly attachMetrics = createMetricsAggregator(() => [...this.ready].flatMap((id) => this.live.get(id) ?? []));

  private fork(): void {
    const worker = cluster.fork({ [WORKER_ENV]: '1', [WORKER_COUNT_ENV]: String(this.setup.workers) });
    this.attachMetrics(worker);
    const pid = worker.process.pid;
    this.live.set(worker.id, worker);
    this.setup.log.info({ event: 'worker.started', worker: worker.id, workerPid: pid }, `worker ${worker.id} started (pid ${pid})`);
    worker.on('message', (message: unknown) => {
      if (isReady(message)) void this.onReady(worker, message.url);
    });
  }

  private async onReady(worker: Worker, url: string): Promise<void> {
    const { log, workers, config, path } = this.setup;
    this.ready.add(worker.id);
    log.info({ event: 'worker.ready', worker: worker.id, workerPid: worker.process.pid, url }, `worker ${worker.id} is listening on ${url}`);
    if (this.phase !== 'starting') return;
    if (this.ready.size === 1) for (let i = 1; i < workers; i++) this.fork();
    if (this.ready.size < workers) return;
    this.phase = 'running';
    log.info({ event: 'server.started', url, issuer: config.issuer, config: path, dataDir: config.dataDir, workers }, `webiso started with ${workers} workers: issuer ${config.issuer}, config ${path}, data ${config.dataDir}`);
    if (this.setup.demoSecret) {
      try {
        this.closeDemo = await startDemo({ issuer: config.issuer, host: config.listen.host, cookieSecret: this.setup.demoSecret, log });
      } catch (error) {
        log.error({ event: 'demo.failed', err: error }, 'the demo app could not start: stopping');
        return this.stop('failure');
      }
    }
    // a process manager that forked us with an IPC channel (PM2's wait_ready, the benchmark) learns we serve
    process.send?.('ready');
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const { log } = this.setup;
    const wasReady = this.ready.delete(worker.id);
    this.live.delete(worker.id);
    // workerPid, not pid: pino's own pid field is the primary's
    const fields = { worker: worker.id, workerPid: worker.process.pid, code, signal };
    if (this.phase === 'stopping') {
      // killed by the SIGTERM itself before it was ready: it was still loading its code (no handler yet), so it had nothing to drain
      if (code !== 0 && !(signal === 'SIGTERM' && !wasReady)) this.failed = true;
      log.info({ event: 'worker.stopped', ...fields }, `worker ${worker.id} stopped (${signal ?? `code ${code}`})`);
      if (this.live.size === 0) this.finish();
      return;
    }
    log.error({ event: 'worker.exited', ...fields }, `worker ${worker.id} (pid ${worker.process.pid}) exited unexpectedly (${signal ?? `code ${code}`})`);
    if (this.phase === 'starting') {
      log.error({ event: 'workers.start_failed', worker: worker.id }, `worker ${worker.id} exited before it was ready: stopping`);
      return this.stop('failure');
    }
    const now = Date.now();
    this.unexpectedExits.push(now);
    while (this.unexpectedExits[0]! <= now - CRASH_LOOP_WINDOW_MS) this.unexpectedExits.shift();
    if (this.unexpectedExits.length > CRASH_LOOP_EXITS) {
      const windowSeconds = CRASH_LOOP_WINDOW_MS / 1000;
      log.fatal({ event: 'workers.crash_loop', exits: this.unexpectedExits.length, windowSeconds }, `${this.unexpectedExits.length} workers exited within ${windowSeconds} s: stopping instead of starting more`);
      return this.stop('failure');
    }
    this.fork();
  }

  /**
   * A signal, or the end of the parent that started us, stops cleanly (exit 0 if every worker
   * drains); a failure (crash loop, failed start) stops with status 1.
   */
  private stop(cause: NodeJS.Signals | 'parent_exited' | 'failure'): void {
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    const workers = this.live.size;
    if (cause === 'failure') this.failed = true;
    else if (cause === 'parent_exited') this.setup.log.info({ event: 'server.stopping', reason: cause, workers }, `the parent process is gone: stopping ${workers} workers`);
    else this.setup.log.info({ event: 'server.stopping', signal: cause, workers }, `received ${cause}: stopping ${workers} workers`);
    this.deadline = setTimeout(() => this.pastDeadline(), SHUTDOWN_DEADLINE_MS + KILL_GRACE_MS);
    this.demoClosed = this.closeDemo?.().catch(() => undefined) ?? Promise.resolve();
    for (const worker of this.live.values()) worker.process.kill('SIGTERM');
    if (this.live.size === 0) this.finish();
  }

  private finish(): void {
    clearTimeout(this.deadline);
    void this.demoClosed.then(() => {
      const exitCode = this.failed ? 1 : 0;
      this.setup.log.info({ event: 'server.stopped', exitCode }, 'webiso stopped');
      process.exit(exitCode);
    });
  }

  private pastDeadline(): void {
    const workers = [...this.live.keys()];
    this.setup.log.error({ event: 'server.stop_deadline', deadlineMs: SHUTDOWN_DEADLINE_MS + KILL_GRACE_MS, workers }, `workers ${workers.join(', ')} did not stop in time: killing them`);
    for (const worker of this.live.values()) worker.process.kill('SIGKILL');
    process.exit(1);
  }

  /** A second signal: nothing drains any more, the workers and the primary end at once. */
  private killNow(signal: NodeJS.Signals): void {
    for (const worker of this.live.values()) worker.process.kill('SIGKILL');
    process.kill(process.pid, signal);
  }

  private signalReady(signal: NodeJS.Signals): void {
    for (const id of this.ready) this.live.get(id)?.process.kill(signal);
  }
}

/**
 * The primary's start: the config is checked and the database migrated here, once, before any
 * worker exists, so N workers never race on a new database. The demo app (--demo) runs here too:
 * it keeps its sessions in memory, so it must be one process, and it outlives worker replacements.
 */
export async function superviseWorkers({ workers, demo }: { workers: number; demo: boolean }): Promise<void> {
  const { config, path } = loadConfig();
  // synchronous: the primary's last line (server.stopped) is written before process.exit, never lost in a buffer
  const log = pino(loggerOptions(config.logLevel), pino.destination({ dest: 1, sync: true }));
  const store = await openStore(config);
  let demoSecret: Buffer | undefined;
  try {
    if (demo) demoSecret = await getOrCreateSecret(store.db, 'demo-app-cookie');
  } finally {
    await store.close();
  }
  log.info({ event: 'workers.starting', workers }, `starting ${workers} workers`);
  new Supervisor({ config, path, workers, demoSecret, log }).start();
}
