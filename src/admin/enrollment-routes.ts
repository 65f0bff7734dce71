import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { wantsHtml } from '../http/error-handler.ts';
import type { RawParams } from '../login/granting-request.ts';
import { parseReason } from '../machines/input.ts';
import { formatTime } from '../time-format.ts';
import type { WebisoServices } from '../services.ts';
import { adminOf, enforceMintPolicy } from './admin-session.ts';
import { actorOf, adminForm, done, machinePath, onMachinePage, orReauth, type ActionContext } from './machine-actions.ts';
import { translatorOf } from '../i18n/request-language.ts';
import type { MessageKey } from '../i18n/messages/index.ts';
import { common, doneMessage } from './pages.ts';
import type { PasswordEntriesRepository } from './password-entries.ts';

/**
 * Enrollment links from the admin pages: issue one for a machine (the mint policy and a recent
 * password apply, as for minting: the link installs a cookie), list the pending ones, cancel one.
 * A machine has at most one pending link; issuing a new one cancels the old (audited).
 */

const DONE: Readonly<Record<string, MessageKey>> = { cancelled: 'adm.done.enrollmentCancelled' };

function issueLink(ctx: ActionContext) {
  const { services, request, reply } = ctx;
  return onMachinePage(ctx, 'enroll', ['days'], async ({ fqdn }) => {
    const { session, body } = adminForm(services, request);
    await enforceMintPolicy(services, ctx.entries, request, session, fqdn, 'issue an enrollment link', { needsFreshPassword: true, machineExists: true });
    const replaced = await services.machines.operations.pendingEnrollmentOf(fqdn);
    const link = await services.machines.operations.createEnrollment(fqdn, body.days, actorOf(session, request));
    request.log.info({ event: 'machine.enrollment_created', fqdn, username: session.username, clientIp: request.ip }, 'machine.enrollment_created');
    if (!wantsHtml(request)) return reply.send({ ok: true, fqdn, url: link.url, expiresAt: link.expiresAt, lifetimeDays: link.lifetimeDays, replaced: replaced?.tag ?? null });
    // Shown once, in this response only: the database keeps a hash, never the link.
    return reply.page(200, 'admin/enrollment-link', {
      ...(await common(services, request, reply, session, `Enrollment link for ${fqdn}`)),
      fqdn,
      url: link.url,
      usableUntil: formatTime(link.expiresAt),
      lifetimeDays: link.lifetimeDays,
      replaced: replaced?.tag,
    });
  });
}

function cancelLink(ctx: ActionContext) {
  const { services, request, reply } = ctx;
  return onMachinePage(ctx, 'cancel-enrollment', [], async ({ fqdn }) => {
    const { session, body } = adminForm(services, request);
    const cancelled = await services.machines.operations.cancelEnrollment(fqdn, actorOf(session, request), parseReason(body.reason));
    if (!wantsHtml(request)) return reply.send({ ok: true, fqdn, outcome: 'enrollment-cancelled', cancelled: cancelled.tag });
    if (body.back === 'enrollments') return reply.redirect('/admin/enrollments?done=cancelled', 303);
    return done(request, reply, fqdn, 'enrollment-cancelled');
  });
}

async function renderPending(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const done = (request.query as RawParams).done;
  const links = (await services.machines.operations.pendingEnrollments()).map((link) => ({ ...link, createdAt: formatTime(link.createdAt), expiresAt: formatTime(link.expiresAt) }));
  return reply.page(200, 'admin/enrollments', {
    ...(await common(services, request, reply, adminOf(request), 'Enrollment links')),
    links,
    done: doneMessage(DONE, done, translatorOf(request)),
  });
}

/** Registered inside the admin scope (the admin gate runs first). */
export function registerEnrollmentRoutes(scope: FastifyInstance, entries: PasswordEntriesRepository): void {
  const services = scope.webiso;
  const ctx = (request: FastifyRequest, reply: FastifyReply): ActionContext => ({ services, entries, request, reply });
  const back = (request: FastifyRequest) => machinePath(String((request.params as { fqdn?: string }).fqdn ?? '').toLowerCase());
  scope.get('/admin/enrollments', async (request, reply) => renderPending(services, request, reply));
  scope.post('/admin/machines/:fqdn/enroll', async (request, reply) => orReauth(request, reply, back(request), () => issueLink(ctx(request, reply))));
  scope.post('/admin/machines/:fqdn/enrollment/cancel', async (request, reply) => cancelLink(ctx(request, reply)));
}
