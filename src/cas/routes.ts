import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { InvalidRequestError } from '../errors.ts';
import { beginLogin, submitLogin } from '../login/engine.ts';
import { bodyParams, refusePasswordInUrl, type RawParams } from '../login/granting-request.ts';
import { showLogoutConfirmation } from '../login/logout-routes.ts';
import type { WebisoServices } from '../services.ts';
import { recordParticipant } from '../logout/session-index.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';
import { casProtocol } from './cas-protocol.ts';
import { parseCasLogin } from './cas-request.ts';
import { CasInternalError, CasValidationError } from './errors.ts';
import type { StoredTicket } from './ticket-repository.ts';
import { validateTicket, validationFormat } from './validate-ticket.ts';
import { renderFailure, renderSuccess, type ValidationFormat } from './validation-response.ts';

/** The validation endpoints: CAS 1 text, CAS 2 XML, CAS 3 XML or JSON. proxyValidate validates service tickets only. */
const VALIDATION_ENDPOINTS: ReadonlyArray<{ readonly path: string; readonly format: ValidationFormat; readonly formatParameter: boolean }> = [
  { path: '/cas/validate', format: 'text', formatParameter: false },
  { path: '/cas/serviceValidate', format: 'xml', formatParameter: false },
  { path: '/cas/proxyValidate', format: 'xml', formatParameter: false },
  { path: '/cas/p3/serviceValidate', format: 'xml', formatParameter: true },
  { path: '/cas/p3/proxyValidate', format: 'xml', formatParameter: true },
];

function startCasLogin(services: WebisoServices, http: FastifyRequest, reply: FastifyReply) {
  const query = http.query as RawParams;
  refusePasswordInUrl(query);
  return beginLogin(casProtocol, { services, http, reply, request: parseCasLogin(services.config, query) });
}

/**
 * The validated ticket joins the session index: CAS single logout names it as SessionIndex, so it
 * is kept (now useless for validation) only for services that asked for single logout.
 */
async function recordValidatedService(services: WebisoServices, ticket: StoredTicket, ticketString: string): Promise<void> {
  const app = services.config.apps.find((candidate) => candidate.id === ticket.appId);
  const singleLogout = app?.cas?.singleLogout === true;
  await recordParticipant(services, { sid: ticket.sid, appId: ticket.appId, protocol: 'cas', subject: ticket.subject, casService: ticket.service, ...(singleLogout ? { casTicket: ticketString } : {}) });
}

const STORE_DOWN = 'The login server cannot reach its database right now; try again in a minute.';

/** Our own fault, in CAS's words (a 503 in the endpoint's format): the database down or busy, or a bug. */
function internalError(http: FastifyRequest, reply: FastifyReply, err: unknown): CasInternalError {
  if (isStoreUnavailable(err)) {
    http.log.warn({ event: 'store.unavailable', err: { code: (err as { code?: unknown }).code, message: (err as Error).message } }, 'the store did not answer');
    void reply.header('retry-after', '30');
    return new CasInternalError(STORE_DOWN);
  }
  http.log.error({ event: 'server.error', err }, 'CAS validation failed');
  return new CasInternalError('The ticket could not be validated because of a problem on the login server; try again.');
}

/** Every answer is in the endpoint's format, malformed requests and our own faults included; never the ticket in a log. */
async function answerValidation(services: WebisoServices, http: FastifyRequest, reply: FastifyReply, endpoint: (typeof VALIDATION_ENDPOINTS)[number]) {
  const params = http.query as RawParams;
  const format = validationFormat(params, endpoint.format, endpoint.formatParameter);
  const where = { clientIp: http.ip, detail: `endpoint=${endpoint.path}` };
  let rendered;
  try {
    const { ticket, identity, ticketString } = await validateTicket(services, params, endpoint.formatParameter);
    await recordValidatedService(services, ticket, ticketString);
    services.audit.record({ event: 'cas.ticket.validated', username: identity.user, appId: ticket.appId, flavor: ticket.flavor, ...where, detail: `${where.detail} kind=${ticket.subject.kind}` }, http.log);
    rendered = renderSuccess(format, identity);
    reply.code(200);
  } catch (err) {
    const error = err instanceof CasValidationError ? err : internalError(http, reply, err);
    services.audit.record({ event: 'cas.ticket.refused', ...where, detail: `${where.detail} code=${error.casCode}` }, http.log);
    rendered = renderFailure(format, error);
    reply.code(error.statusCode);
  }
  return reply.type(rendered.contentType).send(rendered.body);
}

export const casRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    app.get('/cas/login', async (request, reply) => startCasLogin(services, request, reply));
    app.post('/cas/login', async (request, reply) => {
      refusePasswordInUrl(request.query as RawParams);
      const body = bodyParams(request.body);
      if (!('ctx' in body || 'csrf' in body)) throw new InvalidRequestError('Log in with the form on the login page.');
      return submitLogin(casProtocol, services, request, reply, body);
    });
    for (const endpoint of VALIDATION_ENDPOINTS) {
      app.get(endpoint.path, async (request, reply) => answerValidation(services, request, reply, endpoint));
    }
    // CAS 3 names the address to go to after logout `service`; CAS 2 clients send `url`.
    app.get('/cas/logout', async (request, reply) => {
      const query = request.query as RawParams;
      return showLogoutConfirmation(services, request, reply, query.service ?? query.url);
    });
  },
  { name: 'webiso-cas', fastify: '5.x', dependencies: ['webiso-views', 'webiso-errors'] },
);
