import type { FastifyReply } from 'fastify';
import { ForbiddenError, ServiceUnavailableError } from '../errors.ts';
import type { Identity, LoginProtocol, LoginStep, Refusal } from '../login/engine.ts';
import type { Subject } from '../login/login-request.ts';
import { nowSeconds } from '../services.ts';
import { casLoginParams, parseCasLogin, type CasLoginRequest } from './cas-request.ts';
import { CasIdentityNotReleasableError } from './errors.ts';
import { hashTicket, newServiceTicket } from './service-ticket.ts';

/**
 * CAS's front door over the login engine: the answer is a service ticket appended to the exact
 * service string (302, or an auto-posting form with method=POST); gateway without a session goes
 * back to the service with no ticket.
 */

function withTicket(service: string, ticket: string): string {
  return `${service}${service.includes('?') ? '&' : '?'}ticket=${ticket}`;
}

/** A username with `/` could read as a machine (host/…): CAS never releases one. */
function checkReleasable(subject: Subject): void {
  if (subject.kind === 'user' && subject.username.includes('/')) {
    throw new CasIdentityNotReleasableError('This account name cannot be used with this application. Please contact the help desk.');
  }
}

async function issueTicket({ services, http, reply, request }: LoginStep<CasLoginRequest>, identity: Identity): Promise<FastifyReply> {
  checkReleasable(identity.subject);
  const ticket = newServiceTicket();
  const now = nowSeconds(services);
  const idHash = hashTicket(ticket);
  await services.casTickets.save(idHash, {
    appId: request.app.id,
    service: request.service.service,
    subject: identity.subject,
    flavor: request.flavor,
    fromNewLogin: identity.via === 'password',
    sid: identity.sid,
    createdAt: now,
    expiresAt: now + services.config.cas.ticketLifetimeSeconds,
  });
  const { subject } = identity;
  services.audit.record(
    {
      event: 'cas.ticket.issued',
      username: subject.kind === 'user' ? subject.username : `machine:${subject.fqdn}`,
      clientIp: http.ip,
      appId: request.app.id,
      flavor: request.flavor,
      // a prefix of the ticket's hash ties issue and validation together without being a ticket
      detail: `st#${idHash.slice(0, 10)} kind=${subject.kind} via=${identity.via} service=${request.service.url.origin}${request.service.url.pathname}`,
    },
    http.log,
  );
  if (request.method === 'POST') {
    reply.formActionOrigins.push(request.service.url.origin);
    return reply.page(200, 'post-to-app', { action: request.service.service, appName: request.app.name, fields: { ticket } });
  }
  return reply.redirect(withTicket(request.service.service, ticket), 302);
}

function refuse({ reply, request }: LoginStep<CasLoginRequest>, refusal: Refusal): FastifyReply {
  // CAS has no error channel to the service: gateway's "nobody is logged in" is the service without a ticket.
  if (refusal.error === 'login_required') return reply.redirect(request.service.service, 302);
  if (refusal.error === 'temporarily_unavailable') throw new ServiceUnavailableError(refusal.description);
  throw new ForbiddenError(refusal.description);
}

export const casProtocol: LoginProtocol<CasLoginRequest> = {
  name: 'cas',
  formAction: '/cas/login',
  sealParams: casLoginParams,
  answerOrigins: (request) => [request.service.url.origin],
  openParams: (services, params) => parseCasLogin(services.config, params),
  answer: issueTicket,
  refuse,
};
