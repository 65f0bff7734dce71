import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { browserBinding, csrfToken, verifyCsrf } from '../http/csrf.ts';
import { bodyParams, refusePasswordInUrl, type RawParams } from '../login/granting-request.ts';
import { checkPassword, MAX_USERNAME_LENGTH } from '../login/password-check.ts';
import { GENERIC_LOGIN_FAILURE } from '../login/routes.ts';
import { endSsoSession, loadSsoSession, startSsoSession } from '../login/sso-session.ts';
import { sessionLifetimeFor } from '../machines/kiosk.ts';
import type { WebisoServices } from '../services.ts';
import { adminLoginUrl, safeAdminPath } from './admin-session.ts';
import type { PasswordEntriesRepository } from './password-entries.ts';
import { nowSeconds } from '../services.ts';

/** The audit rows of admin logins carry this app id, so they are told apart from app logins. */
export const ADMIN_APP_ID = 'webiso-admin';

interface AdminLoginState {
  readonly next: string;
  readonly username?: string;
  readonly error?: string;
}

/**
 * The admin pages' own login form, also used to re-enter a password before minting. With a live
 * session the username is fixed to the session's: a re-login cannot switch to another account.
 */
async function renderAdminLogin(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, state: AdminLoginState, statusCode = 200): Promise<FastifyReply> {
  const session = await loadSsoSession(services, request);
  const binding = browserBinding(request, reply);
  return reply.page(statusCode, 'admin/login', {
    title: session ? 'Confirm your password' : 'Administrator login',
    sessionUser: session?.username,
    username: state.username ?? '',
    next: state.next,
    error: state.error,
    reauthMinutes: Math.round(services.config.machines.reauthSeconds / 60),
    csrf: csrfToken(services.formSecret, 'login', binding),
  });
}

function typedCredentials(body: RawParams, sessionUser: string | undefined): { username: string; password: string } | undefined {
  const username = sessionUser ?? (typeof body.username === 'string' ? body.username.trim() : '');
  const password = body.password;
  if (username === '' || typeof password !== 'string' || password === '') return undefined;
  return { username, password };
}

async function submitAdminLogin(services: WebisoServices, entries: PasswordEntriesRepository, request: FastifyRequest, reply: FastifyReply) {
  const body = bodyParams(request.body);
  verifyCsrf(services.formSecret, 'login', request, body.csrf);
  const next = safeAdminPath(body.next);
  const session = await loadSsoSession(services, request);
  const credentials = typedCredentials(body, session?.username);
  if (!credentials) return renderAdminLogin(services, request, reply, { next, error: 'Enter your username and your password.' }, 400);
  const { username, password } = credentials;
  const audit = { clientIp: request.ip, appId: ADMIN_APP_ID, flavor: 'admin', verifier: services.verifier.kind };
  const outcome = await checkPassword(services, request, username, password, audit);
  if (!outcome.ok) {
    if (outcome.reason === 'unavailable') return reply.page(503, 'unavailable', { title: 'Try again later' });
    return renderAdminLogin(services, request, reply, { next, username: username.slice(0, MAX_USERNAME_LENGTH), error: GENERIC_LOGIN_FAILURE }, 401);
  }
  // A new session id on every password entry (no fixation); kiosk lifetimes on a kiosk browser.
  await startSsoSession(services, request, reply, outcome.user, sessionLifetimeFor(services, request));
  await entries.record(outcome.user.username, nowSeconds(services), outcome.user.groups ?? [], request.ip);
  services.audit.record({ event: 'login.success', username: outcome.user.username, ...audit, detail: session ? 'password confirmed' : undefined }, request.log);
  return reply.redirect(next, 303);
}

/**
 * "Log in as someone else" (offered to a user without the admin role): ends this browser's
 * session, then the admin login form, which asks for a username again.
 */
async function switchUser(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const body = bodyParams(request.body);
  verifyCsrf(services.formSecret, 'logout', request, body.csrf);
  const session = await loadSsoSession(services, request);
  await endSsoSession(services, request, reply);
  services.audit.record({ event: 'logout', username: session?.username, clientIp: request.ip, detail: 'to log in to the admin pages as someone else' }, request.log);
  return reply.redirect(adminLoginUrl(safeAdminPath(body.next)), 303);
}

export function registerAdminLoginRoutes(app: FastifyInstance, entries: PasswordEntriesRepository): void {
  const services = app.webiso;
  // Both carry a password field: a password in their URL is refused, as on /login.
  app.get('/admin/login', async (request, reply) => {
    refusePasswordInUrl(request.query as RawParams);
    return renderAdminLogin(services, request, reply, { next: safeAdminPath((request.query as RawParams).next) });
  });
  app.post('/admin/login', async (request, reply) => {
    refusePasswordInUrl(request.query as RawParams);
    return submitAdminLogin(services, entries, request, reply);
  });
  app.post('/admin/switch-user', async (request, reply) => switchUser(services, request, reply));
}
