import type { FastifyReply, FastifyRequest } from 'fastify';
import { createSessionsRepository, isExpired, type SsoSession } from '../db/sessions.ts';
import { hmac } from '../http/hmac.ts';
import { endSessions, type EndReason, type LoggedOutApp, type SessionToEnd } from '../logout/end-sessions.ts';
import type { WebisoServices } from '../services.ts';
import type { Queryable } from '../store/store.ts';
import type { VerifiedUser } from '../verifiers/verifier.ts';
import { nowSeconds } from '../services.ts';
import { randomToken } from '../crypto/random-token.ts';

/** The single-sign-on cookie: scoped to webiso's own host, a random id, backed by a session row. */
export const SSO_COOKIE = '__Host-webiso_login';

const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' } as const;

export function sessionToEnd(session: SsoSession): SessionToEnd {
  return { idHash: session.idHash, sid: session.sid, subject: session.username, kind: 'user' };
}

async function browserSessionRow(services: WebisoServices, request: FastifyRequest): Promise<SsoSession | undefined> {
  const id = request.cookies[SSO_COOKIE];
  if (!id || id.length > 128) return undefined;
  return services.sessions.find(id);
}

/**
 * The browser's live SSO session. An expired one is ended on sight — with single logout of every
 * app it reached, as the housekeeping sweep would do a moment later.
 */
export async function loadSsoSession(services: WebisoServices, request: FastifyRequest): Promise<SsoSession | undefined> {
  const session = await browserSessionRow(services, request);
  if (!session) return undefined;
  if (isExpired(session, nowSeconds(services))) {
    await endSessions(services, [sessionToEnd(session)], 'expired', { log: request.log, clientIp: request.ip });
    return undefined;
  }
  return session;
}

/**
 * Activity is written at most this often: an SSO redirect then costs no database write, and the
 * idle timeout (minutes) is at worst this much early.
 */
export const TOUCH_GRANULARITY_SECONDS = 30;

/** Sliding idle expiry: any use of the session counts as activity. */
export async function touchSsoSession(services: WebisoServices, session: SsoSession): Promise<void> {
  const now = nowSeconds(services);
  if (now - session.lastSeenAt >= TOUCH_GRANULARITY_SECONDS) await services.sessions.touch(session.idHash, now);
}

export interface SessionLifetime {
  readonly idleSeconds: number;
  readonly absoluteSeconds: number;
}

/**
 * Every successful password entry gets a brand-new session id (no fixation). The browser's
 * previous session, whoever it belonged to, is ended — with single logout of its apps, so the
 * next person at a shared browser inherits none of them — in the transaction that inserts the new one.
 */
export async function startSsoSession(
  services: WebisoServices,
  request: FastifyRequest,
  reply: FastifyReply,
  user: VerifiedUser,
  lifetime: SessionLifetime = { idleSeconds: services.config.session.idleSeconds, absoluteSeconds: services.config.session.absoluteSeconds },
): Promise<{ readonly sid: string }> {
  const id = randomToken(32);
  const sid = randomToken(18);
  const now = nowSeconds(services);
  const previous = await browserSessionRow(services, request);
  // the new row is inserted in endSessions' transaction, over that transaction (trx)
  const create = (trx: Queryable) =>
    createSessionsRepository(trx).create(
      id,
      { sid, username: user.username, roles: user.roles, amr: user.amr, verifier: services.verifier.kind, authTime: now, idleSeconds: lifetime.idleSeconds, absoluteSeconds: lifetime.absoluteSeconds, clientIp: request.ip },
      now,
    );
  await endSessions(services, previous ? [sessionToEnd(previous)] : [], 'replaced', { log: request.log, clientIp: request.ip, alsoInTransaction: create });
  reply.setCookie(SSO_COOKIE, id, COOKIE_OPTIONS);
  return { sid };
}

/** Ends the browser's session (logout): the apps it reached are told; the cookie is cleared. */
export async function endSsoSession(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, reason: EndReason = 'logout'): Promise<{ ended: boolean; apps: LoggedOutApp[] }> {
  const session = await browserSessionRow(services, request);
  reply.clearCookie(SSO_COOKIE, COOKIE_OPTIONS);
  if (!session) return { ended: false, apps: [] };
  const apps = await endSessions(services, [sessionToEnd(session)], reason, { log: request.log, clientIp: request.ip });
  return { ended: !isExpired(session, nowSeconds(services)), apps };
}

/**
 * A kiosk's machine "session" is its browser, i.e. its machine cookie (one per browser profile):
 * grants given to the machine name this sid, apart from any patron's, so ending a patron's session
 * never ends the machine's and the other way round.
 */
export function machineSessionId(services: WebisoServices, machineCookieJti: string): string {
  return `m${hmac(services.formSecret, 'machine-sid', machineCookieJti).toString('base64url').slice(0, 31)}`;
}
