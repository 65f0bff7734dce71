import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../db/sessions.ts';
import { wantsHtml } from '../http/error-handler.ts';
import { loadSsoSession, touchSsoSession } from '../login/sso-session.ts';
import { AdminLoginRequiredError, AdminRequiredError, MintNotAllowedError, ReauthRequiredError } from '../machines/errors.ts';
import { evaluateMintPolicy, type Minter } from '../machines/mint-policy.ts';
import type { WebisoServices } from '../services.ts';
import { renderNotAdmin } from './not-admin.ts';
import type { PasswordEntriesRepository } from './password-entries.ts';
import { nowSeconds } from '../services.ts';

export const ADMIN_ROLE = 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    /** set by the admin pages' preHandler: a live session of a user with the admin role */
    adminSession: SsoSession | null;
  }
}

const ADMIN_PATH = /^\/admin(?:\/[A-Za-z0-9._~-]+)*$/;

/** Where /admin/login may send the browser afterwards: an admin page path, nothing else. */
export function safeAdminPath(value: unknown): string {
  if (typeof value !== 'string' || value.length > 300 || !ADMIN_PATH.test(value)) return '/admin';
  // no dot segments: a browser would resolve /admin/../x to /x
  return value.split('/').some((segment) => /^\.+$/.test(segment)) ? '/admin' : value;
}

export function adminLoginUrl(next: string): string {
  return `/admin/login?${new URLSearchParams({ next: safeAdminPath(next) }).toString()}`;
}

/**
 * The admin pages' gate. Admins reach them through webiso's own SSO session: no session sends a
 * browser to /admin/login (API clients get a 401), a session without the admin role is a 403
 * (audited). Roles are those recorded in the session at its password entry.
 */
export async function requireAdmin(services: WebisoServices, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const session = await loadSsoSession(services, request);
  if (!session) {
    if (!wantsHtml(request)) throw new AdminLoginRequiredError('Log in to webiso to use the admin pages.');
    const next = request.method === 'GET' ? request.url.split('?')[0] : '/admin';
    return reply.redirect(adminLoginUrl(next ?? '/admin'), 303);
  }
  if (!session.roles.includes(ADMIN_ROLE)) {
    const path = request.url.split('?')[0] ?? '/admin';
    services.audit.record({ event: 'request.rejected', username: session.username, clientIp: request.ip, detail: `admin role required for ${request.method} ${path}` }, request.log);
    const error = new AdminRequiredError('These pages are for webiso administrators only.');
    if (!wantsHtml(request)) throw error;
    // a page in the admin pages' words, not a bare error: who is logged in, and a way to switch
    return renderNotAdmin(services, request, reply, session, error, request.method === 'GET' ? path : '/admin');
  }
  await touchSsoSession(services, session);
  request.adminSession = session;
  return undefined;
}

export function adminOf(request: FastifyRequest): SsoSession {
  if (!request.adminSession) throw new AdminRequiredError('These pages are for webiso administrators only.');
  return request.adminSession;
}

/** Minting needs a password typed within machines.reauthSeconds (the session's auth_time). */
export function passwordIsFresh(services: WebisoServices, session: SsoSession): boolean {
  return session.authTime >= nowSeconds(services) - services.config.machines.reauthSeconds;
}

export async function minterOf(entries: PasswordEntriesRepository, session: SsoSession): Promise<Minter> {
  return { username: session.username, roles: session.roles, groups: await entries.groupsAt(session.username, session.authTime) };
}

export type MintPermission = 'allowed' | 'denied' | 'reauth';

/** What the machine page may offer: mint, a re-login first (stale password or unknown groups), or nothing. */
export async function mintPermission(services: WebisoServices, entries: PasswordEntriesRepository, session: SsoSession, fqdn: string): Promise<MintPermission> {
  const decision = evaluateMintPolicy(services.config.machines.mintPolicy, await minterOf(entries, session), fqdn);
  if (!decision.allowed) return decision.needsGroups ? 'reauth' : 'denied';
  return passwordIsFresh(services, session) ? 'allowed' : 'reauth';
}

/**
 * Enforces the mint policy for an action on `fqdn` (mint, add, edit, reactivate). A refusal is a
 * clear 403 and a machine_events row; unknown groups or a stale password ask for a re-login.
 */
export async function enforceMintPolicy(
  services: WebisoServices,
  entries: PasswordEntriesRepository,
  request: FastifyRequest,
  session: SsoSession,
  fqdn: string,
  action: string,
  options: { needsFreshPassword: boolean; machineExists: boolean },
): Promise<void> {
  const decision = evaluateMintPolicy(services.config.machines.mintPolicy, await minterOf(entries, session), fqdn);
  if (!decision.allowed && !decision.needsGroups) {
    const reason = `${action} refused by the mint policy`;
    if (options.machineExists) await services.machines.operations.recordMintDenied(fqdn, { name: session.username, ip: request.ip }, reason);
    services.audit.record({ event: 'request.rejected', username: session.username, clientIp: request.ip, detail: `${reason} for ${fqdn}` }, request.log);
    request.log.warn({ event: 'machine.mint_denied', fqdn, username: session.username, action, clientIp: request.ip }, 'machine.mint_denied');
    throw new MintNotAllowedError(`The mint policy does not let ${session.username} ${action} for ${fqdn}. Ask whoever maintains webiso's configuration (machines.mintPolicy).`);
  }
  const needsGroups = !decision.allowed && decision.needsGroups;
  if (needsGroups || (options.needsFreshPassword && !passwordIsFresh(services, session))) {
    throw new ReauthRequiredError(`Enter your password again to ${action} for ${fqdn}.`);
  }
}
