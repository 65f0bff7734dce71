import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import type { SsoSession } from '../db/sessions.ts';
import { InvalidRequestError } from '../errors.ts';
import { endSessionsOfMachine } from '../logout/end-sessions.ts';
import { MachineNotFoundError, MintNotAllowedError } from '../machines/errors.ts';
import { parseFqdn, parseReason } from '../machines/input.ts';
import type { WebisoServices } from '../services.ts';
import { formatTime } from '../time-format.ts';
import { enforceMintPolicy } from './admin-session.ts';
import { actorOf, adminForm, orReauth, type ActionContext } from './machine-actions.ts';
import { translatorOf } from '../i18n/request-language.ts';
import { translateMessage } from './form-messages.ts';
import { common } from './pages.ts';
import type { PasswordEntriesRepository } from './password-entries.ts';

/**
 * Bulk actions on machines selected in the list: new enrollment links for all of them (a
 * printable sheet with a QR code per link, to carry round the floor), suspend, revoke. Each
 * machine goes through the same operation, mint policy and audit row as on its own page; suspend
 * and revoke first show what will happen and need an explicit confirmation.
 */

export const BULK_ACTIONS = ['enroll', 'suspend', 'revoke'] as const;
type BulkAction = (typeof BULK_ACTIONS)[number];
const MAX_SELECTED = 200;

async function selected(services: WebisoServices, value: unknown): Promise<string[]> {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (values.length === 0) throw new InvalidRequestError('Select at least one machine in the list first.');
  if (values.length > MAX_SELECTED) throw new InvalidRequestError(`At most ${MAX_SELECTED} machines at a time.`);
  const fqdns = [...new Set(values.map((fqdn) => parseFqdn(fqdn)))];
  for (const fqdn of fqdns) if (!(await services.machines.repository.find(fqdn))) throw new MachineNotFoundError(`There is no machine named ${fqdn}.`);
  return fqdns.sort();
}

function actionOf(value: unknown): BulkAction {
  if (typeof value === 'string' && (BULK_ACTIONS as readonly string[]).includes(value)) return value as BulkAction;
  throw new InvalidRequestError(`The action must be one of: ${BULK_ACTIONS.join(', ')}.`);
}

interface SheetEntry {
  readonly fqdn: string;
  readonly location: string;
  readonly url: string;
  readonly qr: string;
  readonly usableUntil: string;
}

async function issueLinks(ctx: ActionContext, session: SsoSession, fqdns: readonly string[], days: unknown) {
  const { services, request } = ctx;
  const links: SheetEntry[] = [];
  const refused: Array<{ fqdn: string; why: string }> = [];
  for (const fqdn of fqdns) {
    try {
      await enforceMintPolicy(services, ctx.entries, request, session, fqdn, 'issue an enrollment link', { needsFreshPassword: true, machineExists: true });
    } catch (error) {
      if (!(error instanceof MintNotAllowedError)) throw error;
      refused.push({ fqdn, why: translateMessage(error.description, translatorOf(request)) });
      continue;
    }
    const link = await services.machines.operations.createEnrollment(fqdn, days, actorOf(session, request));
    request.log.info({ event: 'machine.enrollment_created', fqdn, username: session.username, clientIp: request.ip, bulk: true }, 'machine.enrollment_created');
    // the QR code is generated here, server-side, as SVG: no script, no third party sees the link
    const qr = await QRCode.toString(link.url, { type: 'svg', margin: 1, errorCorrectionLevel: 'M', width: 160 });
    links.push({ fqdn, location: (await services.machines.repository.find(fqdn))?.location ?? '', url: link.url, qr, usableUntil: formatTime(link.expiresAt) });
  }
  return { links, refused };
}

/** One machine after the other, as on its own page: each change is its own transaction and history row. */
async function changeStatus(ctx: ActionContext, session: SsoSession, action: 'suspend' | 'revoke', fqdns: readonly string[], reason: string | null) {
  const { services, request } = ctx;
  const actor = actorOf(session, request);
  const results: Array<{ fqdn: string; outcome: string }> = [];
  for (const fqdn of fqdns) {
    const changed = action === 'revoke' ? (await services.machines.operations.revoke(fqdn, actor, reason), true) : await services.machines.operations.suspend(fqdn, actor, reason);
    await endSessionsOfMachine(services, fqdn, 'machine_revoked', { log: request.log, clientIp: request.ip });
    request.log.warn({ event: action === 'revoke' ? 'machine.revoked' : 'machine.suspended', fqdn, username: session.username, clientIp: request.ip, bulk: true }, `machine.${action}`);
    results.push({ fqdn, outcome: changed ? (action === 'revoke' ? 'revoked' : 'suspended') : 'already suspended' });
  }
  return results;
}

async function bulk(ctx: ActionContext): Promise<FastifyReply> {
  const { services, request, reply } = ctx;
  const { session, body } = adminForm(services, request);
  const action = actionOf(body.action);
  const fqdns = await selected(services, body.fqdn);
  const page = (title: string) => common(services, request, reply, session, title);
  if (action === 'enroll') {
    const { links, refused } = await issueLinks(ctx, session, fqdns, body.days);
    return reply.page(200, 'admin/enrollment-sheet', { ...(await page('Enrollment links to hand out')), links, refused });
  }
  const reason = parseReason(body.reason);
  if (body.confirm !== 'yes') {
    // nothing changes yet: the confirmation page repeats the selection, in hidden fields
    return reply.page(200, 'admin/bulk-confirm', { ...(await page(action === 'revoke' ? 'Revoke every cookie?' : 'Suspend these machines?')), action, fqdns, reason: reason ?? '' });
  }
  const results = await changeStatus(ctx, session, action, fqdns, reason);
  return reply.page(200, 'admin/bulk-done', { ...(await page(action === 'revoke' ? 'Revoked' : 'Suspended')), action, results });
}

/** Registered inside the admin scope (the admin gate runs first). */
export function registerBulkRoutes(scope: FastifyInstance, entries: PasswordEntriesRepository): void {
  const services = scope.webiso;
  scope.post('/admin/bulk', async (request, reply) => orReauth(request, reply, '/admin/machines', () => bulk({ services, entries, request, reply })));
}
