import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { createAppSessionCodec, newAppSession, type AppSession } from './app-session.ts';
import { registerBackchannelLogoutRoute } from './backchannel-logout-route.ts';
import { buildLoginUrl } from './build-login-url.ts';
import { parseCallbackForm } from './callback-form.ts';
import { createMemoryEndedSessionStore } from './ended-session-store.ts';
import { safeLocalPath } from './local-path.ts';
import { createLoginLoopGuard } from './login-loop-guard.ts';
import { stopLoginLoop } from './login-loop-page.ts';
import { createLoginStateCodec, type LoginState } from './login-state.ts';
import { cookieNames, cookieOptions } from './plugin-cookies.ts';
import {
  normalizePublicUrl,
  personalLoginFor,
  resolvePaths,
  sessionSatisfies,
  type RouteRequirements,
  type WebisoAuthOptions,
  type WebisoRequireOptions,
} from './plugin-options.ts';
import { sendClientError, sendPage, sendSessionStoreUnavailable } from './plugin-pages.ts';
import { createMemoryReplayStore } from './replay-store.ts';
import { createSessionEndPolicy } from './session-end-policy.ts';
import { createWebisoKeySet } from './token-verification.ts';
import { isFlavor } from './types.ts';
import { createGrantVerifier } from './verify-grant.ts';
import { createLogoutTokenVerifier } from './verify-logout-token.ts';

export type { WebisoAuthOptions, WebisoCredsHookArgs, WebisoRequireOptions } from './plugin-options.ts';

/** Browsers cap a cookie near 4096 bytes including its name and attributes. */
const MAX_SESSION_COOKIE_LENGTH = 3800;

const webisoAuthPlugin: FastifyPluginAsync<WebisoAuthOptions> = async (fastify: FastifyInstance, options) => {
  const secure = options.secureCookies ?? true;
  const names = cookieNames(secure);
  const loopGuard = createLoginLoopGuard(options.cookieSecret, options.loopGuard);
  const cookies = cookieOptions(secure, loopGuard.settings.windowSeconds);
  const publicUrl = normalizePublicUrl(options.publicUrl);
  const { callbackPath, logoutPath, backchannelPath } = resolvePaths(options);
  const returnUrl = publicUrl + callbackPath;
  const defaultFlavor = options.flavor ?? 'basic';
  if (!isFlavor(defaultFlavor)) throw new TypeError(`unknown flavor: ${String(defaultFlavor)}`);
  const now = options.now ?? Date.now;
  const limits = { idleSeconds: options.sessionIdleSeconds ?? 1800, maxSeconds: options.sessionMaxSeconds ?? 28800 };
  const sessionCodec = createAppSessionCodec(options.cookieSecret, limits);
  const stateCodec = createLoginStateCodec(options.cookieSecret);
  // One key set and one replay store for both token kinds: one JWKS fetcher, one place for jtis.
  const tokenOptions = {
    ...options,
    now,
    jwks: options.jwks ?? createWebisoKeySet(options),
    replayStore: options.replayStore ?? createMemoryReplayStore({ now }),
  };
  const verifier = createGrantVerifier(tokenOptions);
  const skewSeconds = options.clockSkewSeconds ?? 5;
  const sessionEnds = createSessionEndPolicy({
    store: options.endedSessionStore ?? createMemoryEndedSessionStore({ now }),
    now,
    sessionMaxSeconds: limits.maxSeconds,
    grantWindowSeconds: (options.maxAgeSeconds ?? 120) + skewSeconds,
    skewSeconds,
  });
  /** The decoded session (with its `forced` flag and timestamps) behind request.webiso. */
  const sessions = new WeakMap<FastifyRequest, AppSession>();
  /** Requests whose session could not be checked against the ended-session store. */
  const unverifiable = new WeakSet<FastifyRequest>();

  const publicOrigin = new URL(publicUrl);
  if (secure && publicOrigin.protocol === 'http:' && publicOrigin.hostname !== 'localhost') {
    fastify.log.warn('webiso-client: Secure cookies over plain http only work on localhost');
  }
  if (!fastify.hasPlugin('@fastify/cookie')) await fastify.register(fastifyCookie);
  if (!fastify.hasContentTypeParser('application/x-www-form-urlencoded')) await fastify.register(fastifyFormbody);

  function readCookies(request: FastifyRequest): Record<string, string | undefined> {
    // Parse ourselves: the app may have registered @fastify/cookie with a later (or no) parsing hook.
    const header = request.headers.cookie;
    return typeof header === 'string' ? fastify.parseCookie(header) : {};
  }

  function forgetSession(request: FastifyRequest): void {
    sessions.delete(request);
    request.webiso = null;
  }

  fastify.decorateRequest('webiso', null);
  fastify.decorateRequest('webisoSessionEnded', false);

  fastify.addHook('onRequest', async (request, reply) => {
    request.webiso = null;
    request.webisoSessionEnded = false;
    const raw = readCookies(request)[names.session];
    if (raw === undefined) return;
    const at = now();
    const check = sessionCodec.open(raw, at);
    if (check.status !== 'valid') {
      reply.clearCookie(names.session, cookies.session);
      return;
    }
    try {
      if (await sessionEnds.isEnded(check.session)) {
        // webiso ended the session this one came from: logged out here too, from this request on.
        request.log.info({ grantJti: check.session.identity.jti }, 'app session ended by webiso logout');
        request.webisoSessionEnded = true;
        reply.clearCookie(names.session, cookies.session);
        return;
      }
    } catch (error) {
      // Fail closed without destroying the cookie: anonymous for now, 503 on protected routes.
      request.log.error({ err: error }, 'ended-session store failed');
      unverifiable.add(request);
      return;
    }
    let session = check.session;
    if (check.refresh) {
      session = { ...session, lastSeen: at };
      reply.setCookie(names.session, sessionCodec.seal(session), cookies.session);
    }
    sessions.set(request, session);
    request.webiso = session.identity;
  });

  /** Redirects to webiso, unless this browser has already been sent there too often just now. */
  function startLogin(request: FastifyRequest, reply: FastifyReply, route: RouteRequirements): FastifyReply | undefined {
    const loop = loopGuard.countLogin(readCookies(request)[names.loop], now());
    if (loop.stop) return stopLoginLoop(request, reply, { appId: options.appId, settings: loopGuard.settings, decision: loop, passive: route.passive === true });
    if (loop.cookie !== undefined) reply.setCookie(names.loop, loop.cookie, cookies.loop);
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
    reply.setCookie(names.nonce, stateCodec.seal(state), cookies.nonce);
    return reply.header('cache-control', 'no-store').redirect(login.url, 302);
  }

  /** A kiosk machine on a page for people: end the machine app session, then ask for the person. */
  function replaceMachineWithPerson(request: FastifyRequest, reply: FastifyReply, route: RouteRequirements, fqdn: string): FastifyReply | undefined {
    reply.clearCookie(names.session, cookies.session);
    forgetSession(request);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      // A redirect would drop the request body; explain instead of showing a code.
      return sendPage(reply, 403, {
        title: 'This page needs a personal login',
        detail: `You were using this app as the kiosk ${fqdn}. Open the page again and sign in with your own account.`,
      });
    }
    return startLogin(request, reply, personalLoginFor(route));
  }

  function webisoRequire(requireOptions: WebisoRequireOptions = {}): preHandlerAsyncHookHandler {
    const route: RouteRequirements = { ...requireOptions, flavor: requireOptions.flavor ?? defaultFlavor, force: requireOptions.force === true };
    if (!isFlavor(route.flavor)) throw new TypeError(`unknown flavor: ${String(route.flavor)}`);
    if (route.force && route.passive === true) throw new TypeError('passive and force are mutually exclusive');
    if ((route.flavor === 'getcred') !== (route.target !== undefined)) throw new TypeError('target goes with (and only with) getcred');

    return async function webisoRequireHandler(request, reply) {
      if (unverifiable.has(request)) return sendSessionStoreUnavailable(reply);
      let session = sessions.get(request);
      if (session !== undefined && session.identity.kind === 'machine' && requireOptions.allowMachine !== true) {
        if (route.passive !== true) return replaceMachineWithPerson(request, reply, route, session.identity.fqdn);
        // A passive page serves anonymous visitors; the kiosk is one. Its session stays for other pages.
        forgetSession(request);
        session = undefined;
      }
      if (session !== undefined && sessionSatisfies(session, route)) {
        // The login took (its session came back and serves this page): the loop count starts again.
        if (readCookies(request)[names.loop] !== undefined) reply.clearCookie(names.loop, cookies.loop);
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

  /**
   * Refuses a session from an already ended webiso session, and ends the one it replaces (another
   * webiso session, e.g. a patron's before the kiosk machine's), so that cookie can never return.
   */
  async function checkReplacement(request: FastifyRequest, fresh: AppSession): Promise<'ok' | 'ended'> {
    if (await sessionEnds.isEnded(fresh)) return 'ended';
    const replacedSid = sessions.get(request)?.identity.sid;
    if (replacedSid !== undefined && replacedSid !== fresh.identity.sid) await sessionEnds.endedLocally(replacedSid);
    return 'ok';
  }

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
    const fresh = newAppSession(result.identity, now(), state.force);
    let replacement: 'ok' | 'ended';
    try {
      replacement = await checkReplacement(request, fresh);
    } catch (error) {
      request.log.error({ err: error }, 'ended-session store failed');
      return sendSessionStoreUnavailable(reply);
    }
    if (replacement === 'ended') {
      return sendPage(reply, 401, {
        title: 'Your webiso session has ended',
        code: 'session_ended',
        detail: 'This login came from a webiso session that has since been logged out. Go back to the page you wanted and log in again.',
      });
    }
    if (form.creds !== undefined && options.onCreds !== undefined) {
      await options.onCreds({ creds: form.creds, identity: result.identity, request });
    }
    const sealed = sessionCodec.seal(fresh);
    if (sealed.length > MAX_SESSION_COOKIE_LENGTH) {
      return sendPage(reply, 500, { title: 'Login could not be stored', code: 'session_too_large' });
    }
    // The new identity replaces the old cookie entirely: nothing of the previous session survives.
    reply.setCookie(names.session, sealed, cookies.session);
    reply.clearCookie(names.passive, cookies.passive);
    return reply.redirect(safeLocalPath(state.path), 303);
  }

  fastify.post(callbackPath, { bodyLimit: 65_536 }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const state = stateCodec.open(readCookies(request)[names.nonce], now());
    // Single use: whatever happens next, this login attempt is over.
    reply.clearCookie(names.nonce, cookies.nonce);
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
        reply.setCookie(names.passive, '1', cookies.passive);
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
    // Only this app's session: the webiso session (and its sid) lives on, so a new login may reuse it.
    reply.clearCookie(names.session, cookies.session);
    reply.clearCookie(names.passive, cookies.passive);
    return reply.header('cache-control', 'no-store').redirect('/', 303);
  });

  if (backchannelPath !== false) {
    registerBackchannelLogoutRoute(fastify, {
      path: backchannelPath,
      verifier: createLogoutTokenVerifier(tokenOptions),
      sessionEnds,
      ...(options.onBackchannelLogout !== undefined ? { onBackchannelLogout: options.onBackchannelLogout } : {}),
    });
  }
};

/** Pubcookie-style app sessions backed by webiso grants. Registers as `webiso-client`. */
export const webisoAuth = fp(webisoAuthPlugin, { name: 'webiso-client', fastify: '5.x' });
