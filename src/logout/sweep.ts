import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sessionToEnd } from '../login/sso-session.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import { endSessions } from './end-sessions.ts';

const SWEEP_BATCH = 200;
/** Delivered and given-up rows stay this long for the admin pages, then go. */
const KEEP_FINISHED_SECONDS = 7 * 86_400;

/**
 * Ends every session whose idle or absolute limit has passed, with single logout, although no
 * browser asked: a patron who walked away from a kiosk is logged out of the apps too.
 */
export function sweepExpiredSessions(services: WebisoServices, log: FastifyBaseLogger): number {
  let ended = 0;
  for (;;) {
    const expired = services.sessions.expired(nowSeconds(services), SWEEP_BATCH);
    if (expired.length === 0) return ended;
    endSessions(services, expired.map(sessionToEnd), 'expired', { log });
    ended += expired.length;
    if (expired.length < SWEEP_BATCH) return ended;
  }
}

/** One housekeeping round of single logout: expired sessions, then due (and, after a restart, leftover) deliveries. */
export async function logoutHousekeeping(services: WebisoServices, log: FastifyBaseLogger): Promise<void> {
  sweepExpiredSessions(services, log);
  services.logoutDeliveries.purgeFinishedBefore(nowSeconds(services) - KEEP_FINISHED_SECONDS);
  await services.logoutDeliverer.runOnce();
}

/** Runs the round every logout.sweepSeconds while the app is up, and once at start (what a crash left pending). */
export const logoutSweep = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    services.logoutDeliverer.setLogger(app.log);
    const round = () => void logoutHousekeeping(services, app.log).catch((error: unknown) => app.log.error({ event: 'server.error', err: error }, 'logout housekeeping failed'));
    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      round();
      timer = setInterval(round, services.config.logout.sweepSeconds * 1000);
      timer.unref();
    });
    // buildApp's own onClose drains the deliverer before the database closes
    app.addHook('onClose', async () => clearInterval(timer));
  },
  { name: 'webiso-logout-sweep', fastify: '5.x' },
);
