import { jwtVerify, type JWTPayload } from 'jose';
import { WebisoClientError } from './errors.ts';
import { parseLogoutTokenClaims } from './logout-token-claims.ts';
import { authenticPayloadOf } from './map-jose-error.ts';
import type { ReplayStore } from './replay-store.ts';
import { hasDuplicateMembers } from './strict-json.ts';
import { createJtiBurner, mapVerifyError, resolveTokenVerifierSettings, type WebisoTokenVerifierOptions } from './token-verification.ts';
import type { LogoutEvent } from './types.ts';

/** The `typ` header webiso puts on logout tokens, compared exactly (no `application/` prefix, no case folding). */
export const LOGOUT_TOKEN_TYP = 'logout+jwt';

/** Same issuer, app id, keys and algorithms as grants: webiso signs both with its grant keys. */
export type LogoutTokenVerifierOptions = WebisoTokenVerifierOptions;

export type VerifyLogoutTokenResult = { ok: true; logout: LogoutEvent } | { ok: false; error: WebisoClientError };

export interface LogoutTokenVerifier {
  /** Verifies a `logout_token` form field. Never throws for a bad token; only for programming errors. */
  verify(token: unknown): Promise<VerifyLogoutTokenResult>;
}

/** Logout tokens are small; anything bigger is not one of webiso's. */
const MAX_LOGOUT_TOKEN_LENGTH = 8192;
/** Keeps logout-token ids apart from grant ids when both share one replay store. */
const REPLAY_NAMESPACE = 'logout-token:';
const REQUIRED_CLAIMS = ['iss', 'aud', 'iat', 'exp', 'jti', 'sid', 'events'];

function failure(error: WebisoClientError): VerifyLogoutTokenResult {
  return { ok: false, error };
}

/**
 * Creates a verifier for back-channel logout tokens addressed to one app by one webiso issuer.
 * Each token works once: a replayed `jti` is refused with `logout_token_replayed`.
 */
export function createLogoutTokenVerifier(options: LogoutTokenVerifierOptions): LogoutTokenVerifier {
  const settings = resolveTokenVerifierSettings(options);
  const { algorithms, skewSeconds, maxAgeSeconds, now, keySet } = settings;
  const burn = createJtiBurner(settings, 'logout_token', REPLAY_NAMESPACE);

  async function verifySignatureAndRegisteredClaims(token: string): Promise<{ payload: JWTPayload; typ: unknown } | { error: WebisoClientError }> {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keySet, {
        algorithms,
        issuer: settings.issuer,
        audience: settings.appId,
        typ: LOGOUT_TOKEN_TYP,
        maxTokenAge: maxAgeSeconds,
        clockTolerance: skewSeconds,
        currentDate: new Date(now()),
        requiredClaims: REQUIRED_CLAIMS,
      });
      return { payload, typ: protectedHeader.typ };
    } catch (error) {
      // As for grants: claim failures come after the signature check, so only they burn the jti.
      const authentic = authenticPayloadOf(error);
      if (authentic !== null) await burn(authentic);
      return { error: mapVerifyError(error, 'logout_token') };
    }
  }

  async function verify(token: unknown): Promise<VerifyLogoutTokenResult> {
    if (typeof token !== 'string' || token === '') return failure(new WebisoClientError('logout_token_missing', 'no logout_token was posted'));
    if (token.length > MAX_LOGOUT_TOKEN_LENGTH) return failure(new WebisoClientError('logout_token_malformed', 'logout_token is too large'));
    if (hasDuplicateMembers(token)) return failure(new WebisoClientError('logout_token_malformed', 'logout_token repeats a header or claim name'));

    const verified = await verifySignatureAndRegisteredClaims(token);
    if ('error' in verified) return failure(verified.error);

    const burnError = await burn(verified.payload);
    if (burnError !== null) return failure(burnError);
    // jose folds case and drops an `application/` prefix; webiso sends exactly one spelling.
    if (verified.typ !== LOGOUT_TOKEN_TYP) {
      return failure(new WebisoClientError('logout_token_wrong_type', `typ must be exactly ${LOGOUT_TOKEN_TYP}`, { claim: 'typ' }));
    }
    const parsed = parseLogoutTokenClaims(verified.payload, settings.appId);
    return parsed.ok ? { ok: true, logout: parsed.logout } : failure(parsed.error);
  }

  return { verify };
}

/**
 * One-shot form of `createLogoutTokenVerifier(options).verify(token)`. It needs an explicit replay
 * store, since a fresh in-memory one per call would forget every `jti`; prefer a long-lived
 * verifier, which also caches webiso's keys.
 */
export function verifyLogoutToken(
  token: unknown,
  options: LogoutTokenVerifierOptions & { replayStore: ReplayStore },
): Promise<VerifyLogoutTokenResult> {
  return createLogoutTokenVerifier(options).verify(token);
}
