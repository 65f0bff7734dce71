import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { csrfToken } from '../http/csrf.ts';
import { loadSsoSession, type SessionLifetime } from '../login/sso-session.ts';
import type { WebisoServices } from '../services.ts';
import { checkMachineCookie, MACHINE_COOKIE, type MachineCookieCheck } from './machine-cookie.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The signature-level check of the browser's machine cookie (null: none presented). Kiosk
     * *policy* (short sessions, "end my session", keeping the cookie at logout) follows an
     * authentic cookie; a machine *identity* additionally needs presentMachineCookie's verdict.
     */
    machineCookie: MachineCookieCheck | null;
  }
}

/** Checks the machine cookie's signature once per request, before any handler looks at it. */
export const kioskCookie = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('machineCookie', null);
    app.addHook('preHandler', async (request) => {
      const value = request.cookies[MACHINE_COOKIE];
      request.machineCookie = value === undefined || value === '' ? null : await checkMachineCookie(app.webiso.keystore, value);
    });
  },
  { name: 'webiso-kiosk-cookie', fastify: '5.x' },
);

/** The FQDN of the kiosk this browser is, by an authentic machine cookie (whatever its version or status). */
export function kioskFqdn(request: FastifyRequest): string | undefined {
  return request.machineCookie?.authentic === true ? request.machineCookie.claims.fqdn : undefined;
}

/**
 * Pubcookie's `kiosk` setting, per machine instead of per user-agent: a user session started in a
 * browser holding a machine cookie gets the short kiosk lifetimes.
 */
export function sessionLifetimeFor(services: WebisoServices, request: FastifyRequest): SessionLifetime {
  const { session } = services.config;
  return kioskFqdn(request) === undefined
    ? { idleSeconds: session.idleSeconds, absoluteSeconds: session.absoluteSeconds }
    : { idleSeconds: session.kioskIdleSeconds, absoluteSeconds: session.kioskAbsoluteSeconds };
}

/** What the kiosk variant of the login page needs: the machine's name and an "end my session" form. */
export interface KioskLoginView {
  readonly fqdn: string;
  readonly endSessionCsrf: string;
  readonly hasSession: boolean;
}

export async function kioskLoginView(services: WebisoServices, request: FastifyRequest, binding: string): Promise<KioskLoginView | undefined> {
  const fqdn = kioskFqdn(request);
  if (fqdn === undefined) return undefined;
  return { fqdn, endSessionCsrf: csrfToken(services.formSecret, 'logout', binding), hasSession: (await loadSsoSession(services, request)) !== undefined };
}

/**
 * Logout on a kiosk ("end my session"): `Clear-Site-Data: "cookies"` would also wipe the machine
 * cookie, i.e. the kiosk's identity, so a kiosk logout clears storage and cache only and expires
 * the person's cookies (login, CSRF) one by one; the machine cookie is left alone.
 */
export const KIOSK_CLEAR_SITE_DATA = '"cache", "storage"';

/** The kiosk's "ended" page: which apps the patron was logged out of, then the kiosk's own name again. */
export function renderKioskSessionEnded(reply: FastifyReply, fqdn: string, apps: readonly unknown[] = []): FastifyReply {
  return reply.page(200, 'kiosk-session-ended', { title: 'Session ended', fqdn, apps });
}
