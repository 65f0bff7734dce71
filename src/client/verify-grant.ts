import { jwtVerify, type JWTPayload } from 'jose';
import { WebisoClientError } from './errors.ts';
import { identityFromClaims, parseGrantClaims } from './grant-claims.ts';
import { authenticPayloadOf } from './map-jose-error.ts';
import { nonceMatches } from './nonce.ts';
import { hasDuplicateMembers } from './strict-json.ts';
import {
  createJtiBurner,
  mapVerifyError,
  resolveTokenVerifierSettings,
  type TokenAlgorithm,
  type WebisoTokenVerifierOptions,
} from './token-verification.ts';
import type { Flavor, Identity } from './types.ts';

/** Asymmetric algorithms only: a shared-secret (HS*) grant could be forged by any app. */
export type GrantAlgorithm = TokenAlgorithm;

export const GRANT_TYP = 'webiso-grant+jwt';

/** Issuer, app id, keys, clock and replay store; the same options build a logout-token verifier. */
export type GrantVerifierOptions = WebisoTokenVerifierOptions;

export interface VerifyGrantOptions {
  /** The nonce this browser was sent to webiso with (from your signed state cookie). */
  expectedNonce: string;
  /** If set, the grant's `flavor` must match. */
  expectedFlavor?: Flavor;
  /** For getcred: if set, the grant's `target` must match. */
  expectedTarget?: string;
}

export type VerifyGrantResult = { ok: true; identity: Identity } | { ok: false; error: WebisoClientError };

export interface GrantVerifier {
  /** Verifies the `grant` form field. Never throws for a bad grant; only for programming errors. */
  verify(grant: unknown, options: VerifyGrantOptions): Promise<VerifyGrantResult>;
}

const MAX_GRANT_LENGTH = 16_384;

function failure(error: WebisoClientError): VerifyGrantResult {
  return { ok: false, error };
}

/** Creates a verifier for grants addressed to one app by one webiso issuer. */
export function createGrantVerifier(options: GrantVerifierOptions): GrantVerifier {
  const settings = resolveTokenVerifierSettings(options);
  const { algorithms, skewSeconds, maxAgeSeconds, now, keySet } = settings;
  /** Burns the jti. Returns an error if it was already used or the store failed. */
  const burn = createJtiBurner(settings, 'grant', '');

  async function verifySignatureAndRegisteredClaims(grant: string): Promise<{ payload: JWTPayload } | { error: WebisoClientError }> {
    try {
      const { payload } = await jwtVerify(grant, keySet, {
        algorithms,
        issuer: options.issuer,
        audience: options.appId,
        typ: GRANT_TYP,
        maxTokenAge: maxAgeSeconds,
        clockTolerance: skewSeconds,
        currentDate: new Date(now()),
        requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'nonce', 'kind', 'flavor', 'auth_time', 'amr'],
      });
      return { payload };
    } catch (error) {
      const mapped = mapVerifyError(error, 'grant');
      // Which failures burn the jti (CAS rule: a presented assertion is consumed whatever the
      // outcome, once we know webiso signed it): jose checks the signature first and only then the
      // claims, so claim failures (typ, iss, aud, exp, iat, missing claims) carry an authentic
      // payload and burn. Malformed tokens, disallowed algorithms, unknown keys, bad signatures
      // and JWKS outages do not: their jti is attacker-controlled, and burning it would let anyone
      // cancel someone else's grant.
      const authentic = authenticPayloadOf(error);
      if (authentic !== null) await burn(authentic);
      return { error: mapped };
    }
  }

  async function verify(grant: unknown, verifyOptions: VerifyGrantOptions): Promise<VerifyGrantResult> {
    if (typeof grant !== 'string' || grant === '') return failure(new WebisoClientError('grant_missing', 'no grant was posted'));
    if (grant.length > MAX_GRANT_LENGTH) return failure(new WebisoClientError('grant_malformed', 'grant is too large'));
    if (hasDuplicateMembers(grant)) return failure(new WebisoClientError('grant_malformed', 'grant repeats a header or claim name'));

    const verified = await verifySignatureAndRegisteredClaims(grant);
    if ('error' in verified) return failure(verified.error);
    const { payload } = verified;

    // Burn before any of our own checks, so a grant that fails them is still spent.
    const burnError = await burn(payload);
    if (burnError !== null) return failure(burnError);

    const parsed = parseGrantClaims(payload, { appId: options.appId, nowSeconds: now() / 1000, skewSeconds });
    if (!parsed.ok) return failure(parsed.error);
    if (!nonceMatches(parsed.claims.nonce, verifyOptions.expectedNonce)) {
      return failure(new WebisoClientError('grant_nonce_mismatch', 'grant was not issued for this login attempt', { claim: 'nonce' }));
    }
    if (verifyOptions.expectedFlavor !== undefined && parsed.claims.flavor !== verifyOptions.expectedFlavor) {
      return failure(new WebisoClientError('grant_wrong_flavor', 'grant flavor differs from the one requested', { claim: 'flavor' }));
    }
    if (verifyOptions.expectedTarget !== undefined && parsed.claims.target !== verifyOptions.expectedTarget) {
      return failure(new WebisoClientError('grant_invalid_claims', 'grant target differs from the one requested', { claim: 'target' }));
    }
    return { ok: true, identity: identityFromClaims(parsed.claims) };
  }

  return { verify };
}
