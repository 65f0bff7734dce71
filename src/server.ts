import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { WebisoConfig } from './config/schema.ts';
import { purgeExpiredOidcModels } from './oidc/adapter.ts';
import { reloadOnSighup } from './ops/tls.ts';
import { pruneOldRows, RETENTION_LEASE } from './retention/prune.ts';
import { nowSeconds } from './services.ts';
import { claimLease, LEASE_HOLDER } from './store/lease.ts';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  close(): Promise<void>;
}

const HOUSEKEEPING_EVERY_MS = 60_000;
/** A job's lease: its holder renews it each round; another host takes over once a round is missed. */
const HOUSEKEEPING_LEASE_SECONDS = 60;

interface HousekeepingJob {
  readonly name: string;
  /** false: the job does not apply to this store (no lease is taken) */
  readonly applies?: (app: FastifyInstance) => boolean;
  /** the job takes (and re-checks between batches) a lease of its own; false when another host held it */
  readonly ownLease?: true;
  run(app: FastifyInstance, nowSeconds: number, holder: string): Promise<boolean | void>;
}

const JOBS: readonly HousekeepingJob[] = [
  { name: 'cas-ticket-purge', run: async (app, now) => void (await app.webiso.casTickets.purgeExpired(now)) },
  { name: 'throttle-purge', run: async (app, now) => void (await app.webiso.throttle.purgeBefore(now - app.webiso.config.throttle.windowSeconds)) },
  {
    name: RETENTION_LEASE,
    ownLease: true,
    async run(app, now, holder) {
      const pruned = await pruneOldRows(app.webiso.store, app.webiso.config.retention, now, holder);
      if (pruned.sightings + pruned.auditRows > 0) app.log.info({ event: 'retention.pruned', ...pruned }, 'retention.pruned');
      return pruned.ran;
    },
  },
  { name: 'oidc-purge', run: async (app, now) => void (await purgeExpiredOidcModels(app.webiso.store.db, now)) },
  {
    name: 'sqlite-checkpoint',
    applies: (app) => app.webiso.store.sqlite !== undefined,
    async run(app) {
      const { store } = app.webiso;
      // on the store's connection, between transactions (a checkpoint inside one would do nothing)
      await store.db.connection().execute(async () => void store.sqlite?.pragma('wal_checkpoint(PASSIVE)'));
    },
  },
];

/**
 * One housekeeping round: each job runs on the host that holds its lease, so hosts sharing one
 * PostgreSQL (or processes sharing one SQLite file) never do the same job twice. A failing job is
 * logged and the round goes on; nothing here may take the process down. Returns the jobs done.
 * `holder` names this host in the leases (tests run two "hosts" in one process).
 */
export async function housekeepingRound(app: FastifyInstance, holder: string = LEASE_HOLDER): Promise<string[]> {
  const done: string[] = [];
  for (const job of JOBS) {
    if (job.applies && !job.applies(app)) continue;
    try {
      const now = nowSeconds(app.webiso);
      if (!job.ownLease && !(await claimLease(app.webiso.store.db, job.name, now, HOUSEKEEPING_LEASE_SECONDS, holder))) continue;
      if ((await job.run(app, now, holder)) !== false) done.push(job.name);
    } catch (error) {
      app.log.error({ event: 'housekeeping.failed', job: job.name, err: error }, `housekeeping job ${job.name} failed`);
    }
  }
  return done;
}

/** Housekeeping runs beside the server, not inside request handling; a round still running is not started again. */
function startHousekeeping(app: FastifyInstance): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    running ??= housekeepingRound(app).finally(() => (running = undefined));
  }, HOUSEKEEPING_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
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
  const housekeeping = startHousekeeping(app);
  const stopTlsReload = reloadOnSighup(app, config);
  return {
    app,
    url,
    async close() {
      stopTlsReload();
      // close() waits for every connection to end: the responses still in flight end theirs
      // (Connection: close) instead of leaving them open for the keep-alive timeout.
      stopping = true;
      // a round in flight finishes before the store closes
      await housekeeping.stop();
      await app.close();
    },
  };
}
