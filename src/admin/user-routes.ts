import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../errors.ts';
import { wantsHtml } from '../http/error-handler.ts';
import { MAX_USERNAME_LENGTH } from '../login/password-check.ts';
import { endSessionsOfUser } from '../logout/end-sessions.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import { formatTime } from '../time-format.ts';
import { adminOf } from './admin-session.ts';
import { adminForm } from './machine-actions.ts';
import { translatorOf } from '../i18n/request-language.ts';
import type { MessageKey } from '../i18n/messages/index.ts';
import { common, doneMessage } from './pages.ts';

/**
 * /admin/users: an account's live sessions and the one action a compromised account needs —
 * end every session, with single logout of every app — and disabling a local account.
 */

const DONE: Readonly<Record<string, MessageKey>> = {
  'sessions-ended': 'adm.done.sessionsEnded',
  disabled: 'adm.done.disabled',
  enabled: 'adm.done.enabled',
};

function usernameParam(request: FastifyRequest): string {
  const raw = (request.params as { name?: string }).name ?? (request.query as { name?: unknown }).name;
  if (typeof raw !== 'string' || raw.trim() === '' || raw.length > MAX_USERNAME_LENGTH) throw new InvalidRequestError('Give the username of an account (at most 256 characters).');
  return raw.trim();
}

const userPath = (username: string) => `/admin/users/${encodeURIComponent(username)}`;

async function renderUser(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, username: string) {
  const now = nowSeconds(services);
  const sessions = (await services.sessions.ofUser(username)).filter((session) => session.absoluteExpiresAt > now);
  const account = await services.users.find(username);
  const done = doneMessage(DONE, (request.query as { done?: unknown }).done, translatorOf(request));
  return reply.page(200, 'admin/user', {
    ...(await common(services, request, reply, adminOf(request), `User ${username}`)),
    username,
    path: userPath(username),
    account: account ? { disabled: account.disabled, roles: account.roles.join(', ') || '—' } : undefined,
    sessions: sessions.map((session) => ({ started: formatTime(session.createdAt), lastSeen: formatTime(session.lastSeenAt), expires: formatTime(session.absoluteExpiresAt), verifier: session.verifier })),
    done,
  });
}

function finish(request: FastifyRequest, reply: FastifyReply, username: string, outcome: string, ended: number) {
  if (!wantsHtml(request)) return reply.send({ ok: true, username, outcome, sessionsEnded: ended });
  return reply.redirect(`${userPath(username)}?done=${outcome}`, 303);
}

async function endEverySession(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const { session } = adminForm(services, request);
  const username = usernameParam(request);
  const { sessions } = await endSessionsOfUser(services, username, 'admin', { log: request.log, clientIp: request.ip });
  request.log.warn({ event: 'user.sessions_ended', username, by: session.username, sessions }, 'user.sessions_ended');
  // the admin's own session among them: the redirect then asks the admin to log in again
  return finish(request, reply, username, 'sessions-ended', sessions);
}

async function setDisabled(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, disabled: boolean) {
  const { session } = adminForm(services, request);
  const username = usernameParam(request);
  if (!(await services.users.find(username))) throw new InvalidRequestError(`There is no local account named ${username}.`);
  await services.users.setDisabled(username, disabled, new Date(services.now()));
  const { sessions } = disabled ? await endSessionsOfUser(services, username, 'account_disabled', { log: request.log, clientIp: request.ip }) : { sessions: 0 };
  request.log.warn({ event: disabled ? 'user.disabled' : 'user.enabled', username, by: session.username }, disabled ? 'user.disabled' : 'user.enabled');
  return finish(request, reply, username, disabled ? 'disabled' : 'enabled', sessions);
}

export function registerUserRoutes(scope: FastifyInstance): void {
  const services = scope.webiso;
  scope.get('/admin/users', async (request, reply) => {
    const name = (request.query as { name?: unknown }).name;
    if (typeof name === 'string' && name.trim() !== '') return reply.redirect(userPath(usernameParam(request)), 303);
    return reply.page(200, 'admin/users', { ...(await common(services, request, reply, adminOf(request), 'Users')), users: (await services.users.list()).map((user) => ({ ...user, path: userPath(user.username) })) });
  });
  scope.get('/admin/users/:name', async (request, reply) => renderUser(services, request, reply, usernameParam(request)));
  scope.post('/admin/users/:name/logout', async (request, reply) => endEverySession(services, request, reply));
  scope.post('/admin/users/:name/disable', async (request, reply) => setDisabled(services, request, reply, true));
  scope.post('/admin/users/:name/enable', async (request, reply) => setDisabled(services, request, reply, false));
}
