import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../db/sessions.ts';
import { InvalidRequestError } from '../errors.ts';
import { verifyCsrf } from '../http/csrf.ts';
import { endSessionsOfMachine } from '../logout/end-sessions.ts';
import { wantsHtml } from '../http/error-handler.ts';
import { bodyParams, type RawParams } from '../login/granting-request.ts';
import { endSsoSession } from '../login/sso-session.ts';
import { MachineNotFoundError, ReauthRequiredError } from '../machines/errors.ts';
import { parseFqdn, parseReason, splitList } from '../machines/input.ts';
import { setMachineCookie } from '../machines/machine-cookie.ts';
import type { Machine } from '../machines/machines-repository.ts';
import type { Actor } from '../machines/operations.ts';
import { nowSeconds, type WebisoServices } from '../services.ts';
import { adminLoginUrl, adminOf, enforceMintPolicy } from './admin-session.ts';
import { typedValues, withFormErrors, type AdminForm } from './form-state.ts';
import { renderMachineList, renderMachinePage, renderMinted } from './pages.ts';
import type { PasswordEntriesRepository } from './password-entries.ts';

/** The machine forms of the admin pages: each refusal an admin can fix comes back on the page. */

export const actorOf = (session: SsoSession, request: FastifyRequest): Actor => ({ name: session.username, ip: request.ip });
export const machinePath = (fqdn: string) => `/admin/machines/${fqdn}`;

const DETAIL_FIELDS = ['location', 'networks', 'entitlements'] as const;

/** Every admin POST: the session's admin, after the CSRF check. */
export function adminForm(services: WebisoServices, request: FastifyRequest): { session: SsoSession; body: RawParams } {
  const session = adminOf(request);
  const body = bodyParams(request.body);
  verifyCsrf(services.formSecret, 'admin', request, body.csrf);
  return { session, body };
}

export async function machineFromParams(services: WebisoServices, request: FastifyRequest): Promise<Machine> {
  const fqdn = parseFqdn((request.params as { fqdn?: string }).fqdn);
  const machine = await services.machines.repository.find(fqdn);
  if (!machine) throw new MachineNotFoundError(`There is no machine named ${fqdn}.`);
  return machine;
}

/** POST-redirect-GET for browsers, a JSON answer for API clients. */
export function done(request: FastifyRequest, reply: FastifyReply, fqdn: string, outcome: string, machine?: Machine): FastifyReply {
  if (!wantsHtml(request)) return reply.send({ ok: true, fqdn, outcome, machine });
  return reply.redirect(`${machinePath(fqdn)}?done=${outcome}`, 303);
}

/** A stale password (or unknown groups) sends a browser through /admin/login and back to the machine page. */
export async function orReauth(request: FastifyRequest, reply: FastifyReply, next: string, action: () => Promise<FastifyReply> | FastifyReply): Promise<FastifyReply> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ReauthRequiredError && wantsHtml(request)) return reply.redirect(adminLoginUrl(next), 303);
    throw error;
  }
}

export interface ActionContext {
  readonly services: WebisoServices;
  readonly entries: PasswordEntriesRepository;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

/** A form of the machine page: on a fixable refusal the machine page again, with the problem beside the field. */
export async function onMachinePage(ctx: ActionContext, form: AdminForm, fields: readonly string[], action: (machine: Machine) => Promise<FastifyReply> | FastifyReply) {
  const machine = await machineFromParams(ctx.services, ctx.request);
  const values = typedValues(bodyParams(ctx.request.body), fields);
  return withFormErrors(ctx.request, form, values, () => action(machine), async (state) =>
    renderMachinePage(ctx.services, ctx.entries, ctx.request, ctx.reply, adminOf(ctx.request), (await ctx.services.machines.repository.find(machine.fqdn)) ?? machine, state),
  );
}

export function addMachine(ctx: ActionContext) {
  const { services, entries, request, reply } = ctx;
  const values = typedValues(bodyParams(request.body), ['fqdn', ...DETAIL_FIELDS]);
  return withFormErrors(
    request,
    'add',
    values,
    async () => {
      const { session, body } = adminForm(services, request);
      const fqdn = parseFqdn(body.fqdn);
      const exists = (await services.machines.repository.find(fqdn)) !== undefined;
      await enforceMintPolicy(services, entries, request, session, fqdn, 'register a machine', { needsFreshPassword: false, machineExists: exists });
      const machine = await services.machines.operations.add(fqdn, { location: body.location, networks: splitList(body.networks), entitlements: splitList(body.entitlements) }, actorOf(session, request));
      return done(request, reply, fqdn, 'added', machine);
    },
    (state) => renderMachineList(services, request, reply, adminOf(request), state),
  );
}

export function updateMachine(ctx: ActionContext) {
  return onMachinePage(ctx, 'details', DETAIL_FIELDS, async ({ fqdn }) => {
    const { session, body } = adminForm(ctx.services, ctx.request);
    await enforceMintPolicy(ctx.services, ctx.entries, ctx.request, session, fqdn, 'change the machine details', { needsFreshPassword: false, machineExists: true });
    const machine = await ctx.services.machines.operations.update(fqdn, { location: body.location, networks: splitList(body.networks), entitlements: splitList(body.entitlements) }, actorOf(session, ctx.request));
    return done(ctx.request, ctx.reply, fqdn, 'updated', machine);
  });
}

/**
 * "Mint a cookie for this browser": the cookie goes into the browser that sent the form (the
 * admin sits at the kiosk), and the admin's own session in that browser ends with the same
 * response — the next person at the kiosk must not inherit it.
 */
export function mintForThisBrowser(ctx: ActionContext) {
  const { services, request, reply } = ctx;
  return onMachinePage(ctx, 'mint', ['days'], async ({ fqdn }) => {
    const { session, body } = adminForm(services, request);
    await enforceMintPolicy(services, ctx.entries, request, session, fqdn, 'mint a cookie', { needsFreshPassword: true, machineExists: true });
    const minted = await services.machines.operations.mint(fqdn, body.days, actorOf(session, request));
    setMachineCookie(reply, minted.cookie, minted.claims, nowSeconds(services));
    await endSsoSession(services, request, reply);
    request.log.info({ event: 'machine.minted', fqdn, version: minted.claims.ver, username: session.username, clientIp: request.ip }, 'machine.minted');
    services.audit.record({ event: 'logout', username: session.username, clientIp: request.ip, detail: `session ended after minting a machine cookie for ${fqdn}` }, request.log);
    if (!wantsHtml(request)) return reply.send({ ok: true, fqdn, version: minted.claims.ver, expiresAt: minted.claims.exp });
    return renderMinted(reply, fqdn, minted.claims.ver, minted.claims.exp);
  });
}

export function revoke(ctx: ActionContext) {
  return onMachinePage(ctx, 'revoke', ['reason'], async ({ fqdn }) => {
    const { session, body } = adminForm(ctx.services, ctx.request);
    const machine = await ctx.services.machines.operations.revoke(fqdn, actorOf(session, ctx.request), parseReason(body.reason));
    await endSessionsOfMachine(ctx.services, fqdn, 'machine_revoked', { log: ctx.request.log, clientIp: ctx.request.ip });
    ctx.request.log.warn({ event: 'machine.revoked', fqdn, version: machine.version, username: session.username, clientIp: ctx.request.ip }, 'machine.revoked');
    return done(ctx.request, ctx.reply, fqdn, 'revoked', machine);
  });
}

export function suspend(ctx: ActionContext) {
  return onMachinePage(ctx, 'suspend', ['reason'], async ({ fqdn }) => {
    const { session, body } = adminForm(ctx.services, ctx.request);
    const changed = await ctx.services.machines.operations.suspend(fqdn, actorOf(session, ctx.request), parseReason(body.reason));
    await endSessionsOfMachine(ctx.services, fqdn, 'machine_revoked', { log: ctx.request.log, clientIp: ctx.request.ip });
    return done(ctx.request, ctx.reply, fqdn, changed ? 'suspended' : 'unchanged');
  });
}

export function reactivate(ctx: ActionContext) {
  return onMachinePage(ctx, 'reactivate', ['reason'], async ({ fqdn }) => {
    const { session, body } = adminForm(ctx.services, ctx.request);
    await enforceMintPolicy(ctx.services, ctx.entries, ctx.request, session, fqdn, 'reactivate the machine', { needsFreshPassword: false, machineExists: true });
    const changed = await ctx.services.machines.operations.reactivate(fqdn, actorOf(session, ctx.request), parseReason(body.reason));
    return done(ctx.request, ctx.reply, fqdn, changed ? 'reactivated' : 'unchanged');
  });
}

export async function closeAlert(ctx: ActionContext) {
  const { session } = adminForm(ctx.services, ctx.request);
  const id = (ctx.request.params as { id?: string }).id ?? '';
  if (!/^[0-9]{1,12}$/.test(id)) throw new InvalidRequestError('An alert number is a positive integer.');
  const alert = await ctx.services.machines.operations.closeAlert(Number(id), actorOf(session, ctx.request));
  const back = bodyParams(ctx.request.body).back;
  // closed from the alerts list: back to that list, not to the machine
  if (wantsHtml(ctx.request) && (back === 'alerts' || back === 'alerts-all')) {
    return ctx.reply.redirect(`/admin/alerts?${back === 'alerts-all' ? 'all=1&' : ''}done=alert-closed`, 303);
  }
  return done(ctx.request, ctx.reply, alert.fqdn, 'alert-closed');
}
