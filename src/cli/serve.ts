import type { FastifyBaseLogger } from 'fastify';
import { loadConfig } from '../config/load.ts';
import { getOrCreateSecret } from '../db/secrets.ts';
import { startServer, type RunningServer } from '../server.ts';

export interface ServeOptions {
  readonly demo: boolean;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** In-flight requests get this long to finish after a signal; then the process exits anyway (status 1). */
export const SHUTDOWN_DEADLINE_MS = 10_000;

function demoPort(): number {
  const value = process.env.WEBISO_DEMO_PORT ?? '8081';
  const port = Number(value);
  // worded as the config loader words WEBISO_PORT
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid environment: WEBISO_DEMO_PORT: must be an integer from 1 to 65535, got "${value}"`);
  return port;
}

/** The demo relying app beside the server; returns its closer. */
async function startDemo(server: RunningServer, issuer: string, host: string, log: FastifyBaseLogger): Promise<() => Promise<void>> {
  const { buildDemoApp } = await import('../demo/app.ts');
  const port = demoPort();
  const publicUrl = `http://localhost:${port}`;
  const demoApp = await buildDemoApp({ issuer, appId: 'demo', publicUrl, cookieSecret: getOrCreateSecret(server.app.webiso.db, 'demo-app-cookie') });
  await demoApp.listen({ host, port });
  log.info({ event: 'demo.started', url: publicUrl }, `demo app: open ${publicUrl}/ and follow "Log in"`);
  return () => demoApp.close();
}

/** SIGINT (Ctrl-C) and SIGTERM close the servers and say so; a second signal kills at once. */
function stopOnSignals(closers: ReadonlyArray<() => Promise<void>>, log: FastifyBaseLogger): void {
  const onSignal = (signal: NodeJS.Signals) => {
    for (const other of SIGNALS) process.removeListener(other, onSignal);
    void stop(signal);
  };
  const stop = async (signal: NodeJS.Signals) => {
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
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

/**
 * `webiso serve`: the login server, and with --demo the demo relying app beside it. Everything it
 * says on start-up and shutdown is a log line, in the same format as the request logs.
 */
export async function serve({ demo }: ServeOptions): Promise<void> {
  const { config, path } = loadConfig();
  const server = await startServer(config);
  const log = server.app.log;
  const closers: Array<() => Promise<void>> = [() => server.close()];
  log.info({ event: 'server.started', url: server.url, issuer: config.issuer, config: path, dataDir: config.dataDir }, `webiso started: issuer ${config.issuer}, config ${path}, data ${config.dataDir}`);
  if (demo) closers.unshift(await startDemo(server, config.issuer, config.listen.host, log));
  if (server.app.webiso.users.list().length === 0) {
    log.warn({ event: 'setup.no_accounts' }, 'no accounts yet: create one with `npm run webiso -- user add alice --role admin` (it asks for the password)');
  }
  stopOnSignals(closers, log);
}
