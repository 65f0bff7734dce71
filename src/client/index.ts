/**
 * webiso/client: the relying side of webiso logins. Start a login with `buildLoginUrl`, check the
 * posted grant with `createGrantVerifier`, or let the `webisoAuth` Fastify plugin do both and keep
 * an app session. Back-channel logout: `createLogoutTokenVerifier` checks webiso's logout tokens,
 * and the plugin's `POST /webiso/backchannel-logout` route ends every app session with their `sid`.
 */
export { buildLoginUrl } from './build-login-url.ts';
export type { BuildLoginUrlOptions, LoginRequest } from './build-login-url.ts';
export { createGrantVerifier, GRANT_TYP } from './verify-grant.ts';
export type { GrantAlgorithm, GrantVerifier, GrantVerifierOptions, VerifyGrantOptions, VerifyGrantResult } from './verify-grant.ts';
export { createLogoutTokenVerifier, verifyLogoutToken, LOGOUT_TOKEN_TYP } from './verify-logout-token.ts';
export type { LogoutTokenVerifier, LogoutTokenVerifierOptions, VerifyLogoutTokenResult } from './verify-logout-token.ts';
export { BACKCHANNEL_LOGOUT_EVENT } from './logout-token-claims.ts';
export { createWebisoKeySet } from './token-verification.ts';
export type { TokenAlgorithm, WebisoTokenVerifierOptions } from './token-verification.ts';
export { createMemoryEndedSessionStore, isSessionEnded } from './ended-session-store.ts';
export type { EndedSessionStore, MemoryEndedSessionStore, MemoryEndedSessionStoreOptions } from './ended-session-store.ts';
export type { BackchannelLogoutHook, WebisoBackchannelLogoutHookArgs } from './backchannel-logout-route.ts';
export { createMemoryReplayStore } from './replay-store.ts';
export type { MemoryReplayStore, MemoryReplayStoreOptions, ReplayStore } from './replay-store.ts';
export { WebisoClientError, WEBISO_CLIENT_ERROR_CODES, isWebisoClientError } from './errors.ts';
export type { WebisoClientErrorCode, WebisoClientErrorOptions } from './errors.ts';
export { parseCallbackForm } from './callback-form.ts';
export type { CallbackForm } from './callback-form.ts';
export { createAppSessionCodec, checkSessionTimes, newAppSession, summarizeIdentity, SESSION_REFRESH_MS } from './app-session.ts';
export type { AppSession, AppSessionCodec, SessionCheck, SessionLimits } from './app-session.ts';
export { generateNonce, isWellFormedNonce, nonceMatches } from './nonce.ts';
export { isLocalPath, safeLocalPath } from './local-path.ts';
export { escapeHtml } from './html.ts';
export { webisoAuth } from './fastify-plugin.ts';
export type { LoginLoopGuardOptions } from './login-loop-guard.ts';
export { LOOP_STOPPED_EVENT } from './login-loop-page.ts';
export { decryptCredentials, writeCredentialCache, CREDS_TYP } from './decrypt-credentials.ts';
export type { WebisoAuthOptions, WebisoCredsHookArgs, WebisoRequireOptions } from './fastify-plugin.ts';
export { FLAVORS, isFlavor } from './types.ts';
export type {
  Flavor,
  GetcredInfo,
  GrantClaims,
  Identity,
  LogoutEvent,
  MachineIdentity,
  MachineLogoutEvent,
  SessionIdentity,
  UserIdentity,
  UserLogoutEvent,
} from './types.ts';
export type { CookieSecret } from './signed-cookie.ts';
