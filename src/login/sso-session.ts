import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../db/sessions.ts';
import type { WebisoServices } from '../services.ts';
import type { VerifiedUser } from '../verifiers/verifier.ts';
import { nowSeconds } from '../services.ts';

/** The single-sign-on cookie: scoped to webiso's own host, a random id, backed by a session row. */
export const SSO_COOKIE = '__Host-webiso_login';

const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' } as const;

export function loadSsoSession(services: WebisoServices, request: FastifyRequest): SsoSession | undefined {
  const id = request.cookies[SSO_COOKIE];
  if (!id || id.length > 128) return undefined;
  return services.sessions.findLive(id, nowSeconds(services));
}

/**
 * Activity is written at most this often: an SSO redirect then costs no database write, and the
 * idle timeout (minutes) is at worst this much early.
 */
export const TOUCH_GRANULARITY_SECONDS = 30;

/** Sliding idle expiry: any use of the session counts as activity. */
export function touchSsoSession(services: WebisoServices, session: SsoSession): void {
  const now = nowSeconds(services);
  if (now - session.lastSeenAt >= TOUCH_GRANULARITY_SECONDS) services.sessions.touch(session.idHash, now);
}

export interface SessionLifetime {
  readonly idleSeconds: number;
  readonly absoluteSeconds: number;
}

/**
 * Every successful password entry gets a brand-new session id (no fixation) and the
 * browser's previous session row, whoever it belonged to, is deleted in the same transaction.
 */
export function startSsoSession(
  services: WebisoServices,
  request: FastifyRequest,
  reply: FastifyReply,
  user: VerifiedUser,
  lifetime: SessionLifetime = { idleSeconds: services.config.session.idleSeconds, absoluteSeconds: services.config.session.absoluteSeconds },
): void {
  const id = randomBytes(32).toString('base64url');
  const now = nowSeconds(services);
  services.sessions.create(
    id,
    { username: user.username, roles: user.roles, amr: user.amr, verifier: services.verifier.kind, authTime: now, idleSeconds: lifetime.idleSeconds, absoluteSeconds: lifetime.absoluteSeconds, clientIp: request.ip },
    now,
    request.cookies[SSO_COOKIE],
  );
  reply.setCookie(SSO_COOKIE, id, COOKIE_OPTIONS);
}

export function endSsoSession(services: WebisoServices, request: FastifyRequest, reply: FastifyReply): boolean {
  const id = request.cookies[SSO_COOKIE];
  const deleted = id ? services.sessions.delete(id) : false;
  reply.clearCookie(SSO_COOKIE, COOKIE_OPTIONS);
  return deleted;
}
