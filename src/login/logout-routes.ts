import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { InvalidRequestError, ReturnUrlNotRegisteredError } from '../errors.ts';
import { browserBinding, CSRF_COOKIE, csrfToken, verifyCsrf } from '../http/csrf.ts';
import { KIOSK_CLEAR_SITE_DATA, kioskFqdn, renderKioskSessionEnded } from '../machines/kiosk.ts';
import type { WebisoServices } from '../services.ts';
import { bodyParams, type RawParams } from './granting-request.ts';
import { matchService } from '../cas/service-match.ts';
import { matchPostLogoutRedirect } from '../oidc/post-logout.ts';
import { matchReturnUrl } from './return-url.ts';
import type { LoggedOutApp } from '../logout/end-sessions.ts';
import { endSsoSession, loadSsoSession } from './sso-session.ts';

/**
 * A logout `return` must be one of the registered return URLs of some app, or lie under a
 * registered CAS service (`/cas/logout?service=`), or be an OIDC client's registered post-logout
 * redirect URI (with `state`, from `/oidc/session/end`); otherwise it is refused.
 */
function logoutReturnUrl(services: WebisoServices, value: unknown): URL | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError('The address to return to after logging out must appear once.');
  const registered = services.config.apps.flatMap((app) => app.returnUrls);
  const url = matchReturnUrl(value, registered) ?? matchService(services.config, value)?.url ?? matchPostLogoutRedirect(services.config, value);
  if (!url) throw new ReturnUrlNotRegisteredError('The address to return to after logging out is not registered with webiso.');
  return url;
}

/** The confirmation page (GET /logout, GET /cas/logout): logging out is a POST with a CSRF token. */
export async function showLogoutConfirmation(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, returnParam: unknown) {
  const returnTo = logoutReturnUrl(services, returnParam);
  const session = await loadSsoSession(services, request);
  const binding = browserBinding(request, reply);
  return reply.page(200, 'logout', {
    title: 'Log out',
    username: session?.username,
    returnTo: returnTo?.href ?? '',
    csrf: csrfToken(services.formSecret, 'logout', binding),
  });
}

/** The apps a logout reached, as the page shows them; front-channel URLs get `iss` and `sid` and may be framed. */
function appsForPage(services: WebisoServices, reply: FastifyReply, apps: readonly LoggedOutApp[]) {
  return apps.map((app) => {
    if (!app.frontchannelUrl) return { ...app, frontchannelSrc: undefined };
    const src = new URL(app.frontchannelUrl);
    src.searchParams.set('iss', app.frontchannelIssuer ?? services.config.issuer);
    src.searchParams.set('sid', app.sid);
    if (!reply.frameSrcOrigins.includes(src.origin)) reply.frameSrcOrigins.push(src.origin);
    return { ...app, frontchannelSrc: src.href };
  });
}

async function performLogout(services: WebisoServices, request: FastifyRequest, reply: FastifyReply) {
  const body = bodyParams(request.body);
  verifyCsrf(services.formSecret, 'logout', request, body.csrf);
  const returnTo = logoutReturnUrl(services, body.return);
  const session = await loadSsoSession(services, request);
  const { ended, apps } = await endSsoSession(services, request, reply);
  reply.clearCookie(CSRF_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'lax' });
  // A kiosk ("end my session") keeps its machine cookie: see KIOSK_CLEAR_SITE_DATA and docs/machines.md.
  const kiosk = kioskFqdn(request);
  const detail = `${ended ? 'session deleted' : 'no session'}${kiosk ? ` (kiosk ${kiosk})` : ''}${apps.length > 0 ? ` apps=${apps.map((app) => app.appId).join(',')}` : ''}`;
  services.audit.record({ event: 'logout', username: session?.username, clientIp: request.ip, detail }, request.log);
  // Kiosk rule: nothing of the previous person may survive in this browser.
  reply.header('Clear-Site-Data', kiosk ? KIOSK_CLEAR_SITE_DATA : '"cookies"');
  reply.header('Cache-Control', 'no-store');
  const shown = appsForPage(services, reply, apps);
  // Front-channel frames need the page; without them a return address is followed at once.
  if (returnTo && !shown.some((app) => app.frontchannelSrc)) return reply.redirect(returnTo.href, 303);
  if (kiosk) return renderKioskSessionEnded(reply, kiosk, shown);
  return reply.page(200, 'logged-out', { title: 'Logged out', apps: shown, continueTo: returnTo?.href });
}

export const logoutRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    app.get('/logout', async (request, reply) => showLogoutConfirmation(services, request, reply, (request.query as RawParams).return));
    app.post('/logout', async (request, reply) => performLogout(services, request, reply));
  },
  { name: 'webiso-logout', fastify: '5.x', dependencies: ['webiso-views', 'webiso-errors'] },
);
