import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { browserBinding, csrfToken, verifyCsrf } from '../http/csrf.ts';
import { bodyParams } from '../login/granting-request.ts';
import type { WebisoServices } from '../services.ts';
import { EnrollmentInvalidError } from './errors.ts';
import { setMachineCookie } from './machine-cookie.ts';
import { nowSeconds } from '../services.ts';
import { formatTime } from '../time-format.ts';

const CODE = /^[A-Za-z0-9_-]{43}$/;

function codeOf(request: FastifyRequest): string {
  const code = (request.params as { code?: string }).code ?? '';
  if (!CODE.test(code)) throw new EnrollmentInvalidError('This enrollment link is not valid: it is unknown, has expired, was cancelled or was already used. Ask an administrator for a new one.');
  return code;
}

/** GET only shows what the link would do: link scanners and prefetchers must not burn the code. */
async function showEnrollment(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const code = codeOf(request);
  const pending = await services.machines.operations.pendingEnrollment(code);
  const binding = browserBinding(request, reply);
  return reply.page(200, 'kiosk-enroll', {
    title: 'Enroll this browser as a kiosk',
    fqdn: pending.fqdn,
    lifetimeDays: pending.lifetimeDays,
    usableUntil: formatTime(pending.expiresAt),
    action: `/machines/enroll/${code}`,
    csrf: csrfToken(services.formSecret, 'confirm', binding),
  });
}

/** POST (with the page's CSRF token) redeems the code once and installs the cookie in this browser. */
async function redeemEnrollment(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const code = codeOf(request);
  verifyCsrf(services.formSecret, 'confirm', request, bodyParams(request.body).csrf);
  const minted = await services.machines.operations.redeemEnrollment(code, { name: 'enrollment', ip: request.ip });
  setMachineCookie(reply, minted.cookie, minted.claims, nowSeconds(services));
  request.log.warn({ event: 'machine.enrolled', fqdn: minted.machine.fqdn, version: minted.claims.ver, clientIp: request.ip }, 'machine.enrolled');
  return reply.page(200, 'kiosk-enrolled', {
    title: 'Kiosk enrolled',
    fqdn: minted.machine.fqdn,
    version: minted.claims.ver,
    expiresAt: formatTime(minted.claims.exp),
  });
}

/**
 * The enrollment URLs printed by `webiso machine enroll`. The code is in the path, so these
 * routes log at warn level only: Fastify's per-request info lines (which carry the path) are
 * skipped and the code never reaches webiso's logs (docs/machines.md).
 */
export const machineRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    app.get('/machines/enroll/:code', { logLevel: 'warn' }, async (request, reply) => showEnrollment(services, request, reply));
    app.post('/machines/enroll/:code', { logLevel: 'warn' }, async (request, reply) => redeemEnrollment(services, request, reply));
  },
  { name: 'webiso-machines', fastify: '5.x', dependencies: ['webiso-views', 'webiso-errors', 'webiso-kiosk-cookie'] },
);
