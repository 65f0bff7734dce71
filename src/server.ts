import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { pruneOldRows } from './retention/prune.ts';
import type { WebisoConfig } from './config/schema.ts';
import { reloadOnSighup } from './ops/tls.ts';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  close(): Promise<void>;
}

/** Housekeeping runs beside the server, not inside request handling. */
function startHousekeeping(app: FastifyInstance): NodeJS.Timeout {
  const timer = setInterval(() => {
    const nowSeconds = Math.floor(app.webiso.now() / 1000);
    app.webiso.casTickets.purgeExpired(nowSeconds);
    app.webiso.throttle.purgeBefore(nowSeconds - app.webiso.config.throttle.windowSeconds);
    void pruneOldRows(app.webiso.db, app.webiso.config.retention, nowSeconds).then(
      (pruned) => (pruned.sightings + pruned.auditRows > 0 ? app.log.info({ event: 'retention.pruned', ...pruned }, 'retention.pruned') : undefined),
      (error: unknown) => app.log.error({ event: 'server.error', err: error }, 'retention prune failed'),
    );
    app.webiso.db.pragma('wal_checkpoint(PASSIVE)');
  }, 60_000);
  timer.unref();
  return timer;
}

export async function startServer(config: WebisoConfig): Promise<RunningServer> {
  const app = await buildApp(config);
  let stopping = false;
  app.addHook('onSend', async (_request, reply, payload) => {
    if (stopping) reply.header('connection', 'close');
    return payload;
  });
  // Fastify logs the address itself; in webiso's words, as a line like every other log line.
  const url = await app.listen({ host: config.listen.host, port: config.listen.port, listenTextResolver: (address) => `webiso is listening on ${address}` });
  const timer = startHousekeeping(app);
  const stopTlsReload = reloadOnSighup(app, config);
  return {
    app,
    url,
    async close() {
      clearInterval(timer);
      stopTlsReload();
      // close() waits for every connection to end: the responses still in flight end theirs
      // (Connection: close) instead of leaving them open for the keep-alive timeout.
      stopping = true;
      await app.close();
    },
  };
}
