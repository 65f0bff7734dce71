import type { FastifyReply, FastifyRequest } from 'fastify';
import { CsrfError } from '../errors.ts';
import { hmac, macEquals } from './hmac.ts';
import { randomToken } from '../crypto/random-token.ts';

/**
 * CSRF defence: a random per-browser value in a `__Host-` cookie, and forms carry an
 * HMAC of (purpose, that value). A token fetched by an attacker in their own browser is
 * bound to their cookie, so it fails in the victim's; a cross-site POST cannot read or set
 * the cookie. SameSite=Lax additionally keeps the cookie off cross-site POSTs.
 */
export const CSRF_COOKIE = '__Host-webiso_csrf';

export type CsrfPurpose = 'login' | 'logout' | 'admin' | 'confirm';

export function browserBinding(request: FastifyRequest, reply: FastifyReply): string {
  const existing = request.cookies[CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{22,64}$/.test(existing)) return existing;
  const created = randomToken(18);
  reply.setCookie(CSRF_COOKIE, created, { path: '/', secure: true, httpOnly: true, sameSite: 'lax' });
  return created;
}

export function csrfToken(secret: Buffer, purpose: CsrfPurpose, binding: string): string {
  return hmac(secret, 'csrf', purpose, binding).toString('base64url');
}

export function verifyCsrf(secret: Buffer, purpose: CsrfPurpose, request: FastifyRequest, presented: unknown): string {
  const binding = request.cookies[CSRF_COOKIE];
  if (typeof presented !== 'string' || presented === '' || !binding) {
    throw new CsrfError('This form has expired or was not sent from webiso. Go back, reload the page and try again.');
  }
  if (!macEquals(hmac(secret, 'csrf', purpose, binding), presented)) {
    throw new CsrfError('This form has expired or was not sent from webiso. Go back, reload the page and try again.');
  }
  return binding;
}
