import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sessionToEnd } from '../login/sso-session.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import { claimLease } from '../store/lease.ts';
import { endSessions } from './end-sessions.ts';

const SWEEP_BATCH = 200;
const SWEEP_LEASE = 'logout-sweep';
/** Delivered and given-up rows stay this long for the admin pages, then go. */
const KEEP_FINISHED_SECONDS = 7 * 86_400;

/**
 * Ends every session whose idle or absolute limit has passed, with single logout, although no
 * browser asked: a patron who walked away from a kiosk is logged out of the apps too.
 */
export async function sweepExpiredSessions(services: WebisoServices, log: FastifyBaseLogger): Promise<number> {
  let ended = 0;
  for (;;) {
    const expired = await services.sessions.expired(nowSeconds(services), SWEEP_BATCH);
    if (expired.length === 0) return ended;
    await endSessions(services, expired.map(sessionToEnd), 'expired', { log });
    ended += expired.length;
    if (expired.length < SWEEP_BATCH) return ended;
  }
}

/**
 * One housekeeping round of single logout: expired sessions, then due (and, after a restart,
 * leftover) deliveries. Every host runs it: the sweep is done by the host holding its lease (two
 * sweeps of one session would queue its deliveries once anyway, see endSessionsIn), while the
 * outbox is sent by every host, each row claimed by one.
 */
export async function logoutHousekeeping(services: WebisoServices, log: FastifyBaseLogger): Promise<void> {
  const now = nowSeconds(services);
  if (await claimLease(services.store.db, SWEEP_LEASE, now, services.config.logout.sweepSeconds)) {
    await sweepExpiredSessions(services, log);
    await services.logoutDeliveries.purgeFinishedBefore(now - KEEP_FINISHED_SECONDS);
  }
  await services.logoutDeliverer.runOnce();
}

/** Runs the round every logout.sweepSeconds while the app is up, and once at start (what a crash left pending). */
export const logoutSweep = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    services.logoutDeliverer.setLogger(app.log);
    // a round still running (a slow database) is not started twice
    let running: Promise<void> | undefined;
    const round = () => {
      running ??= logoutHousekeeping(services, app.log)
        .catch((error: unknown) => app.log.error({ event: 'housekeeping.failed', job: 'logout-sweep', err: error }, 'logout housekeeping failed'))
        .finally(() => (running = undefined));
    };
    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      round();
      timer = setInterval(round, services.config.logout.sweepSeconds * 1000);
      timer.unref();
    });
    // buildApp's own onClose drains the deliverer before the database closes
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await running;
    });
  },
  { name: 'webiso-logout-sweep', fastify: '5.x' },
);
