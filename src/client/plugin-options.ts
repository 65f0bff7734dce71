/** The webisoAuth plugin's options, the request decorations it adds, and the pure helpers behind them. */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { AppSession } from './app-session.ts';
import type { BackchannelLogoutHook } from './backchannel-logout-route.ts';
import type { EndedSessionStore } from './ended-session-store.ts';
import type { LoginLoopGuardOptions } from './login-loop-guard.ts';
import type { CookieSecret } from './signed-cookie.ts';
import type { Flavor, Identity, SessionIdentity } from './types.ts';
import type { GrantVerifierOptions } from './verify-grant.ts';

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
  /**
   * Default `/webiso/backchannel-logout`; register publicUrl + this path as the app's
   * `logout.backchannelUrl` at webiso. `false` leaves the route out.
   */
  backchannelLogoutPath?: string | false;
  /** Where ended webiso sessions are remembered. Default: in-memory, for a single process only. */
  endedSessionStore?: EndedSessionStore;
  /** Called after a verified logout token's sid was recorded as ended: end server-side state kept by sid. */
  onBackchannelLogout?: BackchannelLogoutHook;
  /** Redirect-loop breaker: at most `maxLogins` (5) logins per browser in `windowSeconds` (60); `maxLogins: 0` turns it off. */
  loopGuard?: LoginLoopGuardOptions;
}

export interface WebisoRequireOptions {
  flavor?: Flavor;
  /** For getcred: the service the credentials are for. */
  target?: string;
  /** Only accept a session whose login prompted for credentials (no silent SSO). */
  force?: boolean;
  /** Try a silent login; if webiso says login_required, continue with `request.webiso === null`. */
  passive?: boolean;
  /**
   * Let kiosk machine identities through. Default false: the machine app session ends and the
   * browser goes straight to a forced personal login (passive routes just see no identity).
   */
  allowMachine?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in identity from the app session, or null. Switch on `kind`. */
    webiso: SessionIdentity | null;
    /** True when this request brought an app session that a webiso logout had ended (now cleared). */
    webisoSessionEnded: boolean;
  }
  interface FastifyInstance {
    /** A preHandler that demands an app session, starting a webiso login if there is none. */
    webisoRequire(options?: WebisoRequireOptions): preHandlerAsyncHookHandler;
  }
}

export function normalizePublicUrl(publicUrl: string): string {
  const parsed = new URL(publicUrl);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('publicUrl must be http(s)');
  return parsed.href.replace(/\/+$/, '');
}

function assertPath(path: string, label: string): void {
  if (!path.startsWith('/') || path.startsWith('//')) throw new TypeError(`${label} must be an absolute path`);
}

/** A route's requirements with the defaults filled in. */
export type RouteRequirements = WebisoRequireOptions & { flavor: Flavor; force: boolean };

export function sessionSatisfies(session: AppSession, route: RouteRequirements): boolean {
  if (route.force && !session.forced) return false;
  if (route.flavor === 'getcred') {
    return session.identity.flavor === 'getcred' && session.identity.getcred?.target === route.target;
  }
  return true;
}

/** The plugin's own route paths, defaulted and checked at registration. */
export function resolvePaths(options: WebisoAuthOptions) {
  const callbackPath = options.callbackPath ?? '/webiso/callback';
  const logoutPath = options.logoutPath ?? '/webiso/logout';
  const backchannelPath = options.backchannelLogoutPath ?? '/webiso/backchannel-logout';
  assertPath(callbackPath, 'callbackPath');
  assertPath(logoutPath, 'logoutPath');
  if (backchannelPath !== false) assertPath(backchannelPath, 'backchannelLogoutPath');
  return { callbackPath, logoutPath, backchannelPath };
}

/** A personal login in place of a machine identity: never the machine flavor, always a prompt. */
export function personalLoginFor(route: RouteRequirements): RouteRequirements {
  const { passive: _passive, ...rest } = route;
  return { ...rest, flavor: route.flavor === 'machineoruser' ? 'basic' : route.flavor, force: true };
}

