import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { createAppSessionCodec, newAppSession, type AppSession } from './app-session.ts';
import { buildLoginUrl } from './build-login-url.ts';
import { parseCallbackForm } from './callback-form.ts';
import type { WebisoClientError } from './errors.ts';
import { ERROR_PAGE_CSP, renderErrorPage, type ErrorPage } from './html.ts';
import { safeLocalPath } from './local-path.ts';
import { createLoginStateCodec, LOGIN_STATE_MAX_AGE_SECONDS, type LoginState } from './login-state.ts';
import type { CookieSecret } from './signed-cookie.ts';
import { isFlavor, type Flavor, type Identity, type SessionIdentity } from './types.ts';
import { createGrantVerifier, type GrantVerifierOptions } from './verify-grant.ts';

export interface WebisoCredsHookArgs {
  /** The `creds` form field: a compact JWE, not decrypted here. */
  creds: string;
  identity: Identity;
  request: FastifyRequest;
}

export interface WebisoAuthOptions extends Omit<GrantVerifierOptions, 'issuer' | 'appId'> {
  /** webiso's issuer URL, e.g. `https://login.example.edu`. */
  issuer: string;
  appId: string;
  /** This app's own absolute base URL, e.g. `https://app.example.edu`. */
  publicUrl: string;
  /** Default `/webiso/callback`; the return URL registered at webiso is publicUrl + callbackPath. */
  callbackPath?: string;
  /** Default `/webiso/logout`. */
  logoutPath?: string;
  /** ≥32 bytes; HMAC key material for the session and login-state cookies. */
  cookieSecret: CookieSecret;
  /** Inactivity timeout. Default 1800. */
  sessionIdleSeconds?: number;
  /** Hard session lifetime. Default 28800. */
  sessionMaxSeconds?: number;
  /** Default flavor for `webisoRequire()`. Default `basic`. */
  flavor?: Flavor;
  /** Default true. False drops `__Host-` and `Secure`, for plain-http development only. */
  secureCookies?: boolean;
  /** getcred hook: called with the posted `creds` after the grant verified. */
  onCreds?: (args: WebisoCredsHookArgs) => void | Promise<void>;
}

export interface WebisoRequireOptions {
  flavor?: Flavor;
  /** For getcred: the service the credentials are for. */
  target?: string;
  /** Only accept a session whose login prompted for credentials (no silent SSO). */
  force?: boolean;
  /** Try a silent login; if webiso says login_required, continue with `request.webiso === null`. */
  passive?: boolean;
  /** Let kiosk machine identities through. Default false: they get a 403 page. */
  allowMachine?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in identity from the app session, or null. Switch on `kind`. */
    webiso: SessionIdentity | null;
  }
  interface FastifyInstance {
    /** A preHandler that demands an app session, starting a webiso login if there is none. */
    webisoRequire(options?: WebisoRequireOptions): preHandlerAsyncHookHandler;
  }
}

interface CookieNames {
  nonce: string;
  session: string;
  passive: string;
}

function cookieNames(secure: boolean): CookieNames {
  // __Host- pins the cookie to this exact origin, path / and Secure: no subdomain can plant one.
  const prefix = secure ? '__Host-' : '';
  return { nonce: `${prefix}webiso_app_nonce`, session: `${prefix}webiso_app_session`, passive: `${prefix}webiso_app_passive` };
}

const PASSIVE_MARKER_SECONDS = 300;
/** Browsers cap a cookie near 4096 bytes including its name and attributes. */
const MAX_SESSION_COOKIE_LENGTH = 3800;

function normalizePublicUrl(publicUrl: string): string {
  const parsed = new URL(publicUrl);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('publicUrl must be http(s)');
  return parsed.href.replace(/\/+$/, '');
}

function assertPath(path: string, label: string): void {
  if (!path.startsWith('/') || path.startsWith('//')) throw new TypeError(`${label} must be an absolute path`);
}

function statusForError(error: WebisoClientError): number {
  switch (error.code) {
    case 'grant_missing':
    case 'grant_malformed':
    case 'login_state_missing':
      return 400;
    case 'jwks_unavailable':
    case 'replay_store_unavailable':
      return 503;
    case 'login_error':
      return error.error === 'temporarily_unavailable' ? 503 : 401;
    default:
      return 401;
  }
}

function sendPage(reply: FastifyReply, status: number, page: ErrorPage): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', ERROR_PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .send(renderErrorPage(page));
}

function sendClientError(reply: FastifyReply, error: WebisoClientError): FastifyReply {
  const title = error.code === 'login_error' ? 'Login did not complete' : 'Login could not be verified';
  const code = error.code === 'login_error' && error.error !== undefined ? `login_error: ${error.error}` : error.code;
  const page: ErrorPage = error.errorDescription === undefined ? { title, code } : { title, code, detail: error.errorDescription };
  return sendPage(reply, statusForError(error), page);
}

/** A route's requirements with the defaults filled in. */
type RouteRequirements = WebisoRequireOptions & { flavor: Flavor; force: boolean };

function sessionSatisfies(session: AppSession, route: RouteRequirements): boolean {
  if (route.force && !session.forced) return false;
  if (route.flavor === 'getcred') {
    return session.identity.flavor === 'getcred' && session.identity.getcred?.target === route.target;
  }
  return true;
}

const webisoAuthPlugin: FastifyPluginAsync<WebisoAuthOptions> = async (fastify: FastifyInstance, options) => {
  const secure = options.secureCookies ?? true;
  const names = cookieNames(secure);
  const publicUrl = normalizePublicUrl(options.publicUrl);
  const callbackPath = options.callbackPath ?? '/webiso/callback';
  const logoutPath = options.logoutPath ?? '/webiso/logout';
  assertPath(callbackPath, 'callbackPath');
  assertPath(logoutPath, 'logoutPath');
  const returnUrl = publicUrl + callbackPath;
  const defaultFlavor = options.flavor ?? 'basic';
  if (!isFlavor(defaultFlavor)) throw new TypeError(`unknown flavor: ${String(defaultFlavor)}`);
  const now = options.now ?? Date.now;
  const limits = { idleSeconds: options.sessionIdleSeconds ?? 1800, maxSeconds: options.sessionMaxSeconds ?? 28800 };
  const sessionCodec = createAppSessionCodec(options.cookieSecret, limits);
  const stateCodec = createLoginStateCodec(options.cookieSecret);
  const verifier = createGrantVerifier({ ...options, now });
  /** The decoded session (with its `forced` flag and timestamps) behind request.webiso. */
  const sessions = new WeakMap<FastifyRequest, AppSession>();

  const publicOrigin = new URL(publicUrl);
  if (secure && publicOrigin.protocol === 'http:' && publicOrigin.hostname !== 'localhost') {
    fastify.log.warn('webiso-client: Secure cookies over plain http only work on localhost');
  }
  if (!fastify.hasPlugin('@fastify/cookie')) await fastify.register(fastifyCookie);
  if (!fastify.hasContentTypeParser('application/x-www-form-urlencoded')) await fastify.register(fastifyFormbody);

  const base = { path: '/', httpOnly: true, secure } as const;
  // SameSite=None so the cookie rides along on webiso's cross-site form POST (browsers demand Secure for it).
  const nonceCookie = { ...base, sameSite: secure ? 'none' : 'lax', maxAge: LOGIN_STATE_MAX_AGE_SECONDS } as const;
  const sessionCookie = { ...base, sameSite: 'lax' } as const;
  const passiveCookie = { ...base, sameSite: 'lax', maxAge: PASSIVE_MARKER_SECONDS } as const;

  function readCookies(request: FastifyRequest): Record<string, string | undefined> {
    // Parse ourselves: the app may have registered @fastify/cookie with a later (or no) parsing hook.
    const header = request.headers.cookie;
    return typeof header === 'string' ? fastify.parseCookie(header) : {};
  }

  fastify.decorateRequest('webiso', null);

  fastify.addHook('onRequest', async (request, reply) => {
    request.webiso = null;
    const raw = readCookies(request)[names.session];
    if (raw === undefined) return;
    const at = now();
    const check = sessionCodec.open(raw, at);
    if (check.status !== 'valid') {
      reply.clearCookie(names.session, sessionCookie);
      return;
    }
    let session = check.session;
    if (check.refresh) {
      session = { ...session, lastSeen: at };
      reply.setCookie(names.session, sessionCodec.seal(session), sessionCookie);
    }
    sessions.set(request, session);
    request.webiso = session.identity;
  });

  function startLogin(request: FastifyRequest, reply: FastifyReply, route: RouteRequirements): FastifyReply {
    const login = buildLoginUrl({
      issuer: options.issuer,
      appId: options.appId,
      returnUrl,
      flavor: route.flavor,
      ...(route.passive === true ? { passive: true } : {}),
      ...(route.force ? { force: true } : {}),
      ...(route.target !== undefined ? { target: route.target } : {}),
    });
    const state: LoginState = {
      v: 1,
      nonce: login.nonce,
      path: safeLocalPath(request.url),
      flavor: route.flavor,
      ...(route.target !== undefined ? { target: route.target } : {}),
      passive: route.passive === true,
      force: route.force,
      created: now(),
    };
    reply.setCookie(names.nonce, stateCodec.seal(state), nonceCookie);
    return reply.header('cache-control', 'no-store').redirect(login.url, 302);
  }

  function webisoRequire(requireOptions: WebisoRequireOptions = {}): preHandlerAsyncHookHandler {
    const route: RouteRequirements = { ...requireOptions, flavor: requireOptions.flavor ?? defaultFlavor, force: requireOptions.force === true };
    if (!isFlavor(route.flavor)) throw new TypeError(`unknown flavor: ${String(route.flavor)}`);
    if (route.force && route.passive === true) throw new TypeError('passive and force are mutually exclusive');
    if ((route.flavor === 'getcred') !== (route.target !== undefined)) throw new TypeError('target goes with (and only with) getcred');

    return async function webisoRequireHandler(request, reply) {
      const session = sessions.get(request);
      if (session !== undefined && session.identity.kind === 'machine' && requireOptions.allowMachine !== true) {
        return sendPage(reply, 403, {
          title: 'This page needs a personal login',
          code: 'machine_not_allowed',
          detail: 'You are signed in as a kiosk machine. Log out of this app and sign in with your own account.',
          logoutPath,
        });
      }
      if (session !== undefined && sessionSatisfies(session, route)) {
        reply.header('cache-control', 'no-store');
        return;
      }
      if (route.passive === true && readCookies(request)[names.passive] !== undefined) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        // A redirect would drop the request body; make the user start again from a page.
        return sendPage(reply, 401, { title: 'Login required', code: 'login_required' });
      }
      return startLogin(request, reply, route);
    };
  }

  fastify.decorate('webisoRequire', webisoRequire);

  async function finishLogin(
    request: FastifyRequest,
    reply: FastifyReply,
    state: LoginState,
    form: { grant: string; creds?: string },
  ): Promise<FastifyReply> {
    const result = await verifier.verify(form.grant, {
      expectedNonce: state.nonce,
      expectedFlavor: state.flavor,
      ...(state.target !== undefined ? { expectedTarget: state.target } : {}),
    });
    if (!result.ok) {
      request.log.warn({ code: result.error.code, claim: result.error.claim }, 'webiso grant rejected');
      return sendClientError(reply, result.error);
    }
    if (form.creds !== undefined && options.onCreds !== undefined) {
      await options.onCreds({ creds: form.creds, identity: result.identity, request });
    }
    const sealed = sessionCodec.seal(newAppSession(result.identity, now(), state.force));
    if (sealed.length > MAX_SESSION_COOKIE_LENGTH) {
      return sendPage(reply, 500, { title: 'Login could not be stored', code: 'session_too_large' });
    }
    reply.setCookie(names.session, sealed, sessionCookie);
    reply.clearCookie(names.passive, passiveCookie);
    return reply.redirect(safeLocalPath(state.path), 303);
  }

  fastify.post(callbackPath, { bodyLimit: 65_536 }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const state = stateCodec.open(readCookies(request)[names.nonce], now());
    // Single use: whatever happens next, this login attempt is over.
    reply.clearCookie(names.nonce, nonceCookie);
    const form = parseCallbackForm(request.body);
    if (state === null) {
      return sendPage(reply, 400, {
        title: 'Login could not be verified',
        code: 'login_state_missing',
        detail: 'This login attempt expired or was started in another browser. Go back to the page you wanted and try again.',
      });
    }
    if (!form.ok) {
      if (state.passive && form.error.code === 'login_error' && form.error.error === 'login_required') {
        // Silent login found no SSO session: remember that for a while, so we do not bounce again.
        reply.setCookie(names.passive, '1', passiveCookie);
        return reply.redirect(state.path, 303);
      }
      request.log.info({ code: form.error.code, error: form.error.error }, 'webiso login did not complete');
      return sendClientError(reply, form.error);
    }
    return finishLogin(request, reply, state, form);
  });

  fastify.post(logoutPath, async (request, reply) => {
    // Refuse cross-site logout posts when the browser tells us where they came from.
    const origin = request.headers.origin;
    if (typeof origin === 'string' && origin !== publicOrigin.origin) {
      return sendPage(reply, 403, { title: 'Logout refused', code: 'cross_site_logout' });
    }
    reply.clearCookie(names.session, sessionCookie);
    reply.clearCookie(names.passive, passiveCookie);
    return reply.header('cache-control', 'no-store').redirect('/', 303);
  });
};

/** Pubcookie-style app sessions backed by webiso grants. Registers as `webiso-client`. */
export const webisoAuth = fp(webisoAuthPlugin, { name: 'webiso-client', fastify: '5.x' });
