import type { FastifyReply, FastifyRequest } from 'fastify';
import { FlavorNotAllowedError, LoginContextInvalidError } from '../errors.ts';
import { FLAVORS } from '../flavors/index.ts';
import type { AppErrorCode, Flavor, FlavorContext } from '../flavors/flavor.ts';
import { browserBinding, csrfToken, verifyCsrf } from '../http/csrf.ts';
import { kioskLoginView, sessionLifetimeFor } from '../machines/kiosk.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import type { RawParams } from './granting-request.ts';
import { openLoginContext, sealLoginContext } from './login-context.ts';
import type { LoginRequest, ProtocolName, Subject, Via } from './login-request.ts';
import { isLooping } from './loop-guard.ts';
import { checkPassword, MAX_USERNAME_LENGTH } from './password-check.ts';
import type { SsoSession } from '../db/sessions.ts';
import { loadSsoSession, machineSessionId, startSsoSession, touchSsoSession } from './sso-session.ts';

/**
 * The protocol-neutral login engine. A protocol (native grants, CAS, …) parses its own request into
 * a LoginRequest and renders its own answer; everything between — flavors, the login form and its
 * sealed context, the SSO session, throttling, kiosk handling, audit — happens here, once.
 */

/**
 * One message for unknown user, wrong password, disabled account and throttling alike. Most
 * failures are typos, so it reads as one; the throttled case is covered by its last sentence.
 */
export const GENERIC_LOGIN_FAILURE = 'That username and password do not match. Check them and type the password again. After many failed attempts, wait a few minutes before the next one.';

/** One request being answered: the server's services, the HTTP exchange and the parsed login request. */
export interface LoginStep<R extends LoginRequest> {
  readonly services: WebisoServices;
  readonly http: FastifyRequest;
  readonly reply: FastifyReply;
  readonly request: R;
}

/** An established identity, and what the flavor adds for the app (getcred: the ticket). */
export interface Identity {
  readonly subject: Subject;
  readonly via: Via;
  /** the session the identity belongs to (grants' `sid`; what single logout ends) */
  readonly sid: string;
  readonly extraClaims?: Readonly<Record<string, unknown>> | undefined;
  readonly extraFields?: Readonly<Record<string, string>> | undefined;
}

/** A protocol error to send back to the app. */
export interface Refusal {
  readonly error: AppErrorCode;
  readonly description: string;
  readonly auditDetail?: string | undefined;
  readonly username?: string | undefined;
}

/** What a protocol front door gives the engine: how to seal and reopen its request, how to answer. */
export interface LoginProtocol<R extends LoginRequest> {
  readonly name: ProtocolName;
  /** where the login form posts back to (the protocol's own login endpoint) */
  readonly formAction: string;
  sealParams(request: R): Record<string, string>;
  /**
   * Origins the login form's POST may end at besides webiso: CSP form-action also governs where a
   * form submission redirects (CAS answers the POST with a 302 to the service).
   */
  answerOrigins?(request: R): readonly string[];
  /** rebuilds the request from sealed parameters, checked against the registry again */
  openParams(services: WebisoServices, params: Readonly<Record<string, string>>): R;
  answer(step: LoginStep<R>, identity: Identity): Promise<FastifyReply> | FastifyReply;
  refuse(step: LoginStep<R>, refusal: Refusal): FastifyReply;
}

function flavorOf(request: LoginRequest): Flavor {
  const flavor = FLAVORS.get(request.flavor);
  if (!flavor) throw new FlavorNotAllowedError(`The ${request.flavor} flavor is not available on this server.`);
  return flavor;
}

async function flavorContext<R extends LoginRequest>(step: LoginStep<R>): Promise<FlavorContext> {
  return { request: step.request, session: await loadSsoSession(step.services, step.http), http: step.http, services: step.services, nowSeconds: nowSeconds(step.services) };
}

function auditFields(step: LoginStep<LoginRequest>) {
  return { clientIp: step.http.ip, appId: step.request.app.id, flavor: step.request.flavor };
}

interface LoginFormState {
  readonly username?: string;
  readonly error?: string;
}

/** `context`: the flavor context the caller already built (saves reading the session again). */
export async function renderLoginForm<R extends LoginRequest>(
  protocol: LoginProtocol<R>,
  step: LoginStep<R>,
  state: LoginFormState = {},
  statusCode = 200,
  context?: FlavorContext,
): Promise<FastifyReply> {
  const { services, http, reply, request } = step;
  const binding = browserBinding(http, reply);
  reply.formActionOrigins.push(...(protocol.answerOrigins?.(request) ?? []));
  const flavor = FLAVORS.get(request.flavor);
  const notice = flavor?.loginFormNotice?.(context ?? (await flavorContext(step)));
  const kiosk = await kioskLoginView(services, http, binding);
  return reply.page(statusCode, 'login', {
    kiosk,
    notice,
    appName: request.app.name,
    flavor: request.flavor,
    forced: request.force,
    formAction: protocol.formAction,
    context: sealLoginContext(services.formSecret, { protocol: protocol.name, params: protocol.sealParams(request) }, binding, nowSeconds(services)),
    csrf: csrfToken(services.formSecret, 'login', binding),
    username: state.username ?? '',
    error: state.error,
  });
}

/** Step 1: a protocol's login request arrives. Answer from the session or machine cookie, prompt, or refuse. */
export async function beginLogin<R extends LoginRequest>(protocol: LoginProtocol<R>, step: LoginStep<R>): Promise<FastifyReply> {
  const { services, http } = step;
  const context = await flavorContext(step);
  const decision = await flavorOf(step.request).decide(context);
  switch (decision.action) {
    case 'grant': {
      const sid = sessionIdOf(step, decision.via, context.session);
      if (isLooping(services, sid, step.request.app.id, protocol.name)) return breakLoop(step);
      if (decision.via === 'sso' && context.session) {
        await touchSsoSession(services, context.session);
        services.audit.record({ event: 'login.sso', username: context.session.username, ...auditFields(step) }, http.log);
      }
      return protocol.answer(step, { subject: decision.subject, via: decision.via, sid });
    }
    case 'error':
      if (decision.error === 'login_required') {
        services.audit.record({ event: 'login.passive_failed', ...auditFields(step), detail: decision.error }, http.log);
      }
      return protocol.refuse(step, decision);
    case 'prompt':
      return renderLoginForm(protocol, step, {}, 200, context);
  }
}

/** The loop breaker's page (429): audited, no answer to the app this time, a way to try again. */
function breakLoop(step: LoginStep<LoginRequest>): FastifyReply {
  const { maxAnswers, windowSeconds } = step.services.config.loopGuard;
  step.services.audit.record({ event: 'login.loop_stopped', ...auditFields(step), detail: `more than ${maxAnswers} answers in ${windowSeconds} s` }, step.http.log);
  return step.reply.page(429, 'redirect-loop', { title: 'Login loop stopped', appName: step.request.app.name, count: maxAnswers, requestId: step.http.id, retry: step.http.url });
}

/** A user's answer belongs to the SSO session; a machine's to the kiosk browser's machine session. */
function sessionIdOf(step: LoginStep<LoginRequest>, via: 'sso' | 'machine', session: SsoSession | undefined): string {
  const cookie = step.http.machineCookie;
  if (via === 'machine' && cookie?.authentic === true) return machineSessionId(step.services, cookie.claims.jti);
  if (via === 'sso' && session) return session.sid;
  throw new Error(`no session behind a ${via} answer`);
}

function readCredentials(body: RawParams): { username: string; password: string } | undefined {
  const { username, password } = body;
  if (typeof username !== 'string' || typeof password !== 'string') return undefined;
  const trimmed = username.trim();
  if (trimmed === '' || password === '') return undefined;
  return { username: trimmed, password };
}

/** The sealed request of a submitted form, for this protocol only (a CAS form cannot be replayed as a native one). */
function openSubmittedRequest<R extends LoginRequest>(protocol: LoginProtocol<R>, services: WebisoServices, http: FastifyRequest, body: RawParams): R {
  const binding = verifyCsrf(services.formSecret, 'login', http, body.csrf);
  const sealed = openLoginContext(services.formSecret, body.ctx, binding, nowSeconds(services));
  if (sealed.protocol !== protocol.name) throw new LoginContextInvalidError('This login form belongs to another kind of login. Go back to the application and start again.');
  return protocol.openParams(services, sealed.params);
}

/** Step 2: the person submits the login form. */
export async function submitLogin<R extends LoginRequest>(protocol: LoginProtocol<R>, services: WebisoServices, http: FastifyRequest, reply: FastifyReply, body: RawParams): Promise<FastifyReply> {
  const step: LoginStep<R> = { services, http, reply, request: openSubmittedRequest(protocol, services, http, body) };
  const flavor = flavorOf(step.request);
  const audit = { ...auditFields(step), verifier: services.verifier.kind };
  const context = await flavorContext(step);
  const submissionRefused = flavor.checkSubmission?.(context, body);
  if (submissionRefused && !submissionRefused.ok) return protocol.refuse(step, submissionRefused);

  const credentials = readCredentials(body);
  if (!credentials) {
    const typed = typeof body.username === 'string' ? body.username.slice(0, MAX_USERNAME_LENGTH) : '';
    return renderLoginForm(protocol, step, { error: 'Enter your username and your password.', username: typed }, 400, context);
  }
  const { username, password } = credentials;
  const outcome = await checkPassword(services, http, username, password, audit);
  if (!outcome.ok) {
    if (outcome.reason === 'unavailable') return reply.page(503, 'unavailable', { title: 'Try again later' });
    return renderLoginForm(protocol, step, { error: GENERIC_LOGIN_FAILURE, username: username.slice(0, MAX_USERNAME_LENGTH) }, 401, context);
  }

  const after = await flavor.afterPassword(context, outcome.user, password);
  const { sid } = await startSsoSession(services, http, reply, outcome.user, sessionLifetimeFor(services, http));
  services.audit.record({ event: 'login.success', username: outcome.user.username, ...audit }, http.log);
  if (!after.ok) return protocol.refuse(step, { ...after, username: outcome.user.username });
  const { user } = outcome;
  const subject: Subject = { kind: 'user', username: user.username, authTime: nowSeconds(services), amr: user.amr, roles: user.roles };
  return protocol.answer(step, { subject, via: 'password', sid, extraClaims: after.extraClaims, extraFields: after.extraFields });
}
