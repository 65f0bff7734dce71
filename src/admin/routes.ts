import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { SsoSession } from '../db/sessions.ts';
import { InvalidRequestError } from '../errors.ts';
import { verifyCsrf } from '../http/csrf.ts';
import { wantsHtml } from '../http/error-handler.ts';
import { bodyParams, type RawParams } from '../login/granting-request.ts';
import { endSsoSession } from '../login/sso-session.ts';
import { MachineNotFoundError, ReauthRequiredError } from '../machines/errors.ts';
import { parseFqdn, parseReason, splitList } from '../machines/input.ts';
import { setMachineCookie } from '../machines/machine-cookie.ts';
import type { Machine } from '../machines/machines-repository.ts';
import type { Actor } from '../machines/operations.ts';
import type { WebisoServices } from '../services.ts';
import { adminLoginUrl, adminOf, enforceMintPolicy, requireAdmin } from './admin-session.ts';
import { registerAdminLoginRoutes } from './login-routes.ts';
import { renderAlerts, renderExpiring, renderMachineList, renderMachinePage, renderMinted } from './pages.ts';
import { createPasswordEntriesRepository, type PasswordEntriesRepository } from './password-entries.ts';
import { nowSeconds } from '../services.ts';

const actorOf = (session: SsoSession, request: FastifyRequest): Actor => ({ name: session.username, ip: request.ip });
const machinePath = (fqdn: string) => `/admin/machines/${fqdn}`;

/** Every admin POST: the session's admin, after the CSRF check. */
function adminForm(services: WebisoServices, request: FastifyRequest): { session: SsoSession; body: RawParams } {
  const session = adminOf(request);
  const body = bodyParams(request.body);
  verifyCsrf(services.formSecret, 'admin', request, body.csrf);
  return { session, body };
}

function machineFromParams(services: WebisoServices, request: FastifyRequest): Machine {
  const fqdn = parseFqdn((request.params as { fqdn?: string }).fqdn);
  const machine = services.machines.repository.find(fqdn);
  if (!machine) throw new MachineNotFoundError(`There is no machine named ${fqdn}.`);
  return machine;
}

/** POST-redirect-GET for browsers, a JSON answer for API clients. */
function done(request: FastifyRequest, reply: FastifyReply, fqdn: string, outcome: string, machine?: Machine): FastifyReply {
  if (!wantsHtml(request)) return reply.send({ ok: true, fqdn, outcome, machine });
  return reply.redirect(`${machinePath(fqdn)}?done=${outcome}`, 303);
}

/** A stale password (or unknown groups) sends a browser through /admin/login and back to the machine page. */
async function orReauth(request: FastifyRequest, reply: FastifyReply, next: string, action: () => Promise<FastifyReply> | FastifyReply): Promise<FastifyReply> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ReauthRequiredError && wantsHtml(request)) return reply.redirect(adminLoginUrl(next), 303);
    throw error;
  }
}

function addMachine(services: WebisoServices, entries: PasswordEntriesRepository, request: FastifyRequest, reply: FastifyReply) {
  const { session, body } = adminForm(services, request);
  const fqdn = parseFqdn(body.fqdn);
  const exists = services.machines.repository.find(fqdn) !== undefined;
  enforceMintPolicy(services, entries, request, session, fqdn, 'register a machine', { needsFreshPassword: false, machineExists: exists });
  const machine = services.machines.operations.add(fqdn, { location: body.location, networks: splitList(body.networks), entitlements: splitList(body.entitlements) }, actorOf(session, request));
  return done(request, reply, fqdn, 'added', machine);
}

function updateMachine(services: WebisoServices, entries: PasswordEntriesRepository, request: FastifyRequest, reply: FastifyReply) {
  const { session, body } = adminForm(services, request);
  const { fqdn } = machineFromParams(services, request);
  enforceMintPolicy(services, entries, request, session, fqdn, 'change the machine details', { needsFreshPassword: false, machineExists: true });
  const machine = services.machines.operations.update(fqdn, { location: body.location, networks: splitList(body.networks), entitlements: splitList(body.entitlements) }, actorOf(session, request));
  return done(request, reply, fqdn, 'updated', machine);
}

/**
 * "Mint a cookie for this browser": the cookie goes into the browser that sent the form (the
 * admin sits at the kiosk), and the admin's own session in that browser ends with the same
 * response — the next person at the kiosk must not inherit it.
 */
async function mintForThisBrowser(services: WebisoServices, entries: PasswordEntriesRepository, request: FastifyRequest, reply: FastifyReply) {
  const { session, body } = adminForm(services, request);
  const { fqdn } = machineFromParams(services, request);
  enforceMintPolicy(services, entries, request, session, fqdn, 'mint a cookie', { needsFreshPassword: true, machineExists: true });
  const minted = await services.machines.operations.mint(fqdn, body.days, actorOf(session, request));
  setMachineCookie(reply, minted.cookie, minted.claims, nowSeconds(services));
  endSsoSession(services, request, reply);
  request.log.info({ event: 'machine.minted', fqdn, version: minted.claims.ver, username: session.username, clientIp: request.ip }, 'machine.minted');
  services.audit.record({ event: 'logout', username: session.username, clientIp: request.ip, detail: `session ended after minting a machine cookie for ${fqdn}` }, request.log);
  if (!wantsHtml(request)) return reply.send({ ok: true, fqdn, version: minted.claims.ver, expiresAt: minted.claims.exp });
  return renderMinted(reply, fqdn, minted.claims.ver, minted.claims.exp);
}

function revoke(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const { session, body } = adminForm(services, request);
  const { fqdn } = machineFromParams(services, request);
  const machine = services.machines.operations.revoke(fqdn, actorOf(session, request), parseReason(body.reason));
  request.log.warn({ event: 'machine.revoked', fqdn, version: machine.version, username: session.username, clientIp: request.ip }, 'machine.revoked');
  return done(request, reply, fqdn, 'revoked', machine);
}

function suspend(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const { session, body } = adminForm(services, request);
  const { fqdn } = machineFromParams(services, request);
  const changed = services.machines.operations.suspend(fqdn, actorOf(session, request), parseReason(body.reason));
  return done(request, reply, fqdn, changed ? 'suspended' : 'unchanged');
}

function reactivate(services: WebisoServices, entries: PasswordEntriesRepository, request: FastifyRequest, reply: FastifyReply) {
  const { session, body } = adminForm(services, request);
  const { fqdn } = machineFromParams(services, request);
  enforceMintPolicy(services, entries, request, session, fqdn, 'reactivate the machine', { needsFreshPassword: false, machineExists: true });
  const changed = services.machines.operations.reactivate(fqdn, actorOf(session, request), parseReason(body.reason));
  return done(request, reply, fqdn, changed ? 'reactivated' : 'unchanged');
}

function closeAlert(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const { session } = adminForm(services, request);
  const id = (request.params as { id?: string }).id ?? '';
  if (!/^[0-9]{1,12}$/.test(id)) throw new InvalidRequestError('An alert number is a positive integer.');
  const alert = services.machines.operations.closeAlert(Number(id), actorOf(session, request));
  return done(request, reply, alert.fqdn, 'alert-closed');
}

function registerPages(scope: FastifyInstance, entries: PasswordEntriesRepository): void {
  const services = scope.webiso;
  scope.get('/admin', async (request, reply) => renderMachineList(services, request, reply, adminOf(request)));
  scope.get('/admin/expiring', async (request, reply) => renderExpiring(services, request, reply, adminOf(request)));
  scope.get('/admin/alerts', async (request, reply) => renderAlerts(services, request, reply, adminOf(request)));
  scope.get('/admin/machines/:fqdn', async (request, reply) => renderMachinePage(services, entries, request, reply, adminOf(request), machineFromParams(services, request)));
}

function registerActions(scope: FastifyInstance, entries: PasswordEntriesRepository): void {
  const services = scope.webiso;
  const fqdnParam = (request: FastifyRequest) => machinePath(String((request.params as { fqdn?: string }).fqdn ?? '').toLowerCase());
  scope.post('/admin/machines', async (request, reply) => orReauth(request, reply, '/admin', () => addMachine(services, entries, request, reply)));
  scope.post('/admin/machines/:fqdn/details', async (request, reply) => orReauth(request, reply, fqdnParam(request), () => updateMachine(services, entries, request, reply)));
  scope.post('/admin/machines/:fqdn/mint', async (request, reply) => orReauth(request, reply, fqdnParam(request), () => mintForThisBrowser(services, entries, request, reply)));
  scope.post('/admin/machines/:fqdn/revoke', async (request, reply) => revoke(services, request, reply));
  scope.post('/admin/machines/:fqdn/suspend', async (request, reply) => suspend(services, request, reply));
  scope.post('/admin/machines/:fqdn/reactivate', async (request, reply) => orReauth(request, reply, fqdnParam(request), () => reactivate(services, entries, request, reply)));
  scope.post('/admin/alerts/:id/close', async (request, reply) => closeAlert(services, request, reply));
}

/** /admin: the machines' version table, history, sightings and alerts, for users with the admin role. */
export const adminRoutes = fp(
  async (app: FastifyInstance) => {
    const entries = createPasswordEntriesRepository(app.webiso.db);
    app.decorateRequest('adminSession', null);
    registerAdminLoginRoutes(app, entries);
    await app.register(async (scope) => {
      scope.addHook('preHandler', async (request, reply) => requireAdmin(scope.webiso, request, reply));
      registerPages(scope, entries);
      registerActions(scope, entries);
    });
  },
  { name: 'webiso-admin', fastify: '5.x', dependencies: ['webiso-views', 'webiso-errors', 'webiso-kiosk-cookie'] },
);
