import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { FlavorNotAllowedError } from '../errors.ts';
import { FLAVORS } from '../flavors/index.ts';
import type { AppErrorCode, Flavor, FlavorContext } from '../flavors/flavor.ts';
import { browserBinding, csrfToken, verifyCsrf } from '../http/csrf.ts';
import { kioskLoginView, sessionLifetimeFor } from '../machines/kiosk.ts';
import type { WebisoServices } from '../services.ts';
import {
  bodyParams,
  parseGrantingRequest,
  refusePasswordInUrl,
  resolveGrantingRequest,
  type RawParams,
  type ResolvedGrantingRequest,
} from './granting-request.ts';
import { signGrant, type GrantSubject } from './grant.ts';
import { openLoginContext, sealLoginContext } from './login-context.ts';
import { checkPassword, MAX_USERNAME_LENGTH } from './password-check.ts';
import { loadSsoSession, startSsoSession, touchSsoSession } from './sso-session.ts';
import { nowSeconds as seconds } from '../services.ts';

/** One message for unknown user, wrong password, disabled account and throttling alike. */
export const GENERIC_LOGIN_FAILURE = 'The username or password is not correct, or too many attempts were made. Please try again later.';

declare module 'fastify' {
  interface FastifyInstance {
    webiso: WebisoServices;
  }
}

function flavorOf(request: ResolvedGrantingRequest): Flavor {
  const flavor = FLAVORS.get(request.flavor);
  if (!flavor) throw new FlavorNotAllowedError(`The ${request.flavor} flavor is not available on this server.`);
  return flavor;
}

/** The grant (or an error) travels to the app as a form POST, never in a URL. */
function postToApp(reply: FastifyReply, request: ResolvedGrantingRequest, fields: Record<string, string>): FastifyReply {
  reply.formActionOrigins.push(request.returnTo.origin);
  return reply.page(200, 'post-to-app', { action: request.returnTo.href, appName: request.app.name, fields });
}

export async function sendGrant(
  services: WebisoServices,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  request: ResolvedGrantingRequest,
  subject: GrantSubject,
  extra: { claims?: Readonly<Record<string, unknown>>; fields?: Readonly<Record<string, string>> } = {},
): Promise<FastifyReply> {
  const grant = await signGrant({
    keystore: services.keystore,
    issuer: services.config.issuer,
    request,
    subject,
    nowSeconds: seconds(services),
    lifetimeSeconds: services.config.grant.lifetimeSeconds,
    extraClaims: extra.claims,
  });
  services.audit.record(
    {
      event: 'grant.issued',
      username: subject.kind === 'user' ? subject.username : `machine:${subject.fqdn}`,
      clientIp: httpRequest.ip,
      appId: request.app.id,
      flavor: request.flavor,
      // the jti's prefix identifies the grant in an investigation without making the log a replay source
      detail: `jti=${grant.jti.slice(0, 8)}… kind=${subject.kind}`,
    },
    httpRequest.log,
  );
  return postToApp(reply, request, { grant: grant.token, ...extra.fields });
}

export function sendAppError(
  services: WebisoServices,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  request: ResolvedGrantingRequest,
  error: AppErrorCode,
  description: string,
  auditDetail?: string,
  username?: string,
): FastifyReply {
  services.audit.record({ event: 'grant.error', username, clientIp: httpRequest.ip, appId: request.app.id, flavor: request.flavor, detail: auditDetail ? `${error}: ${auditDetail}` : error }, httpRequest.log);
  return postToApp(reply, request, { error, error_description: description });
}

interface LoginFormState {
  readonly username?: string;
  readonly error?: string;
}

export function renderLoginForm(
  services: WebisoServices,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  request: ResolvedGrantingRequest,
  state: LoginFormState = {},
  statusCode = 200,
): FastifyReply {
  const binding = browserBinding(httpRequest, reply);
  const notice = FLAVORS.get(request.flavor)?.loginFormNotice?.(flavorContext(services, httpRequest, request));
  return reply.page(statusCode, 'login', {
    kiosk: kioskLoginView(services, httpRequest, binding),
    notice,
    appName: request.app.name,
    flavor: request.flavor,
    forced: request.force,
    context: sealLoginContext(services.formSecret, request, binding, seconds(services)),
    csrf: csrfToken(services.formSecret, 'login', binding),
    username: state.username ?? '',
    error: state.error,
  });
}

function flavorContext(services: WebisoServices, httpRequest: FastifyRequest, request: ResolvedGrantingRequest): FlavorContext {
  return { request, session: loadSsoSession(services, httpRequest), http: httpRequest, services, nowSeconds: seconds(services) };
}

/** Step 1 of a login: an app's granting request arrives (GET, or POST as a form). */
async function handleGrantingRequest(services: WebisoServices, httpRequest: FastifyRequest, reply: FastifyReply, params: RawParams) {
  const request = resolveGrantingRequest(services.config, parseGrantingRequest(params));
  const context = flavorContext(services, httpRequest, request);
  const decision = await flavorOf(request).decide(context);
  switch (decision.action) {
    case 'grant':
      if (decision.via === 'sso' && context.session) {
        touchSsoSession(services, context.session);
        services.audit.record({ event: 'login.sso', username: context.session.username, clientIp: httpRequest.ip, appId: request.app.id, flavor: request.flavor }, httpRequest.log);
      }
      return sendGrant(services, httpRequest, reply, request, decision.subject);
    case 'error':
      if (decision.error === 'login_required') {
        services.audit.record({ event: 'login.passive_failed', clientIp: httpRequest.ip, appId: request.app.id, flavor: request.flavor, detail: decision.error }, httpRequest.log);
      }
      return sendAppError(services, httpRequest, reply, request, decision.error, decision.description, decision.auditDetail);
    case 'prompt':
      return renderLoginForm(services, httpRequest, reply, request);
  }
}

function readCredentials(body: RawParams): { username: string; password: string } | undefined {
  const { username, password } = body;
  if (typeof username !== 'string' || typeof password !== 'string') return undefined;
  const trimmed = username.trim();
  if (trimmed === '' || password === '') return undefined;
  return { username: trimmed, password };
}

/** Step 2 of a login: the person submits the login form. */
async function handleLoginSubmission(services: WebisoServices, httpRequest: FastifyRequest, reply: FastifyReply, body: RawParams) {
  const binding = verifyCsrf(services.formSecret, 'login', httpRequest, body.csrf);
  const request = resolveGrantingRequest(services.config, openLoginContext(services.formSecret, body.ctx, binding, seconds(services)));
  const flavor = flavorOf(request);
  const audit = { clientIp: httpRequest.ip, appId: request.app.id, flavor: request.flavor, verifier: services.verifier.kind };

  const context = flavorContext(services, httpRequest, request);
  const submissionRefused = flavor.checkSubmission?.(context, body);
  if (submissionRefused && !submissionRefused.ok) {
    return sendAppError(services, httpRequest, reply, request, submissionRefused.error, submissionRefused.description, submissionRefused.auditDetail);
  }
  const credentials = readCredentials(body);
  if (!credentials) {
    return renderLoginForm(services, httpRequest, reply, request, { error: 'Enter your username and your password.', username: typeof body.username === 'string' ? body.username.slice(0, MAX_USERNAME_LENGTH) : '' }, 400);
  }
  const { username, password } = credentials;
  const outcome = await checkPassword(services, httpRequest, username, password, audit);
  if (!outcome.ok) {
    if (outcome.reason === 'unavailable') return reply.page(503, 'unavailable', { title: 'Try again later' });
    return renderLoginForm(services, httpRequest, reply, request, { error: GENERIC_LOGIN_FAILURE, username: username.slice(0, MAX_USERNAME_LENGTH) }, 401);
  }

  const after = await flavor.afterPassword(context, outcome.user, password);
  startSsoSession(services, httpRequest, reply, outcome.user, sessionLifetimeFor(services, httpRequest));
  services.audit.record({ event: 'login.success', username: outcome.user.username, ...audit }, httpRequest.log);
  if (!after.ok) return sendAppError(services, httpRequest, reply, request, after.error, after.description, after.auditDetail, outcome.user.username);
  const subject: GrantSubject = { kind: 'user', username: outcome.user.username, authTime: seconds(services), amr: outcome.user.amr };
  return sendGrant(services, httpRequest, reply, request, subject, { claims: after.extraClaims, fields: after.extraFields });
}

export const loginRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    app.get('/login', async (request, reply) => {
      const query = request.query as RawParams;
      refusePasswordInUrl(query);
      return handleGrantingRequest(services, request, reply, query);
    });
    app.post('/login', async (request, reply) => {
      refusePasswordInUrl(request.query as RawParams);
      const body = bodyParams(request.body);
      if ('ctx' in body || 'csrf' in body) return handleLoginSubmission(services, request, reply, body);
      return handleGrantingRequest(services, request, reply, body);
    });
  },
  { name: 'webiso-login', fastify: '5.x', dependencies: ['webiso-views', 'webiso-errors'] },
);
