import cluster from 'node:cluster';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.ts';
import { getOrCreateSecret } from '../db/secrets.ts';
import { joinClusterMetrics } from '../ops/cluster-metrics.ts';
import { startServer, type RunningServer } from '../server.ts';
import { isOurWorker, superviseWorkers, workerCount, WORKER_READY, type WorkerReady } from './cluster.ts';
import { startDemo } from './demo-app.ts';
import { cliMessage } from './errors.ts';
import { onFirstSignal, SHUTDOWN_DEADLINE_MS, STOP_SIGNALS } from './shutdown.ts';

export { SHUTDOWN_DEADLINE_MS } from './shutdown.ts';

export interface ServeOptions {
  readonly demo: boolean;
  /** the --workers value as typed, if given (else WEBISO_WORKERS, else the number of CPUs) */
  readonly workers?: string | undefined;
}

/** Closes the servers and says so, within the deadline; then the process exits (0, or 1 past the deadline). */
async function shutDown(signal: NodeJS.Signals, closers: ReadonlyArray<() => Promise<void>>, log: FastifyBaseLogger): Promise<void> {
  log.info({ event: 'server.stopping', signal }, `received ${signal}: shutting down`);
  const deadline = setTimeout(() => {
    log.error({ event: 'server.stop_deadline', signal, deadlineMs: SHUTDOWN_DEADLINE_MS }, 'in-flight requests did not finish in time: exiting');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  try {
    for (const close of closers) await close();
    log.info({ event: 'server.stopped', signal }, 'webiso stopped');
    process.exit(0);
  } catch (error) {
    log.error({ event: 'server.stop_failed', err: error }, 'webiso could not shut down cleanly');
    process.exit(1);
  }
}

async function warnWithoutAccounts(server: RunningServer): Promise<void> {
  if ((await server.app.webiso.users.list()).length === 0) {
    server.app.log.warn({ event: 'setup.no_accounts' }, 'no accounts yet: create one with `npm run webiso -- user add alice --role admin` (it asks for the password)');
  }
}

/** One process serves everything: `--workers 1`, and what every version before --workers did. */
async function serveAlone(demo: boolean): Promise<void> {
  const { config, path } = loadConfig();
  const server = await startServer(config);
  const log = server.app.log;
  const closers: Array<() => Promise<void>> = [() => server.close()];
  log.info({ event: 'server.started', url: server.url, issuer: config.issuer, config: path, dataDir: config.dataDir }, `webiso started: issuer ${config.issuer}, config ${path}, data ${config.dataDir}`);
  if (demo) closers.unshift(await startDemo({ issuer: config.issuer, host: config.listen.host, cookieSecret: await getOrCreateSecret(server.app.webiso.store.db, 'demo-app-cookie'), log }));
  await warnWithoutAccounts(server);
  // a second signal has its default effect: the process ends at once
  onFirstSignal(STOP_SIGNALS, (signal) => void shutDown(signal, closers, log));
}

/**
 * A worker of `--workers N`: the same server on the primary's shared port. Its log lines carry
 * `worker` (its cluster id). Only SIGTERM stops it, and only the first: a Ctrl-C or a service
 * manager's stop may reach the whole process group as well as the primary, which then sends its
 * own SIGTERM; the repeat must not kill a drain in progress (the primary's deadline still holds).
 */
async function serveAsWorker(id: number): Promise<void> {
  let server: RunningServer | undefined;
  let stopSignal: NodeJS.Signals | undefined;
  const stop = (running: RunningServer, signal: NodeJS.Signals) => void shutDown(signal, [() => running.close()], running.app.log);
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => {
    if (stopSignal) return;
    stopSignal = 'SIGTERM';
    // still starting: it stops as soon as it has started, so nothing is left half-built
    if (server) stop(server, stopSignal);
  });
  try {
    const { config } = loadConfig();
    server = await startServer(config);
    // Fastify's logger is pino's (its type leaves setBindings out): every later line, request logs included, says which worker
    (server.app.log as FastifyBaseLogger & Pick<Logger, 'setBindings'>).setBindings({ worker: id });
    if (stopSignal) return stop(server, stopSignal);
    // once, not once per worker: replacements (higher ids) and the others stay quiet
    if (id === 1) await warnWithoutAccounts(server);
    // /metrics answers for the whole cluster: the primary sums every worker's figures
    server.app.webiso.metrics.scrapeWith(joinClusterMetrics(server.app.webiso.metrics.registries));
    const ready: WorkerReady = { type: WORKER_READY, url: server.url };
    process.send?.(ready);
  } catch (error) {
    // the IPC channel would keep this process alive: say why (as runCli would) and go
    console.error(`webiso: ${cliMessage(error)}`);
    process.exit(1);
  }
}

/**
 * `webiso serve`: the login server, and with --demo the demo relying app beside it. Everything it
 * says on start-up and shutdown is a log line, in the same format as the request logs. With more
 * than one worker this process is the primary (src/cli/cluster.ts) and serves no request itself.
 */
export async function serve({ demo, workers }: ServeOptions): Promise<void> {
  if (isOurWorker() && cluster.worker) return serveAsWorker(cluster.worker.id);
  const count = workerCount(workers, process.env);
  if (count === 1) return serveAlone(demo);
  return superviseWorkers({ workers: count, demo });
}
