import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { WebisoClientError } from './errors.ts';
import { identityFromClaims, parseGrantClaims } from './grant-claims.ts';
import { assertTrustworthyUrl, joinIssuerPath } from './issuer-url.ts';
import { authenticPayloadOf, mapJoseError } from './map-jose-error.ts';
import { nonceMatches } from './nonce.ts';
import { createMemoryReplayStore, type ReplayStore } from './replay-store.ts';
import type { Flavor, Identity } from './types.ts';

/** Asymmetric algorithms only: a shared-secret (HS*) grant could be forged by any app. */
export type GrantAlgorithm =
  | 'EdDSA'
  | 'Ed25519'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'RS256'
  | 'RS384'
  | 'RS512';

export const GRANT_TYP = 'webiso-grant+jwt';

export interface GrantVerifierOptions {
  /** webiso's issuer URL; the grant's `iss` must equal it exactly. */
  issuer: string;
  /** This app's id; the grant's `aud` must equal it exactly. */
  appId: string;
  /** Defaults to `{issuer}/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Defaults to `['EdDSA', 'ES256']`. */
  algorithms?: readonly GrantAlgorithm[];
  /** Tolerance for clock differences with webiso. Default 5. */
  clockSkewSeconds?: number;
  /** Oldest acceptable `iat`, in seconds. Default 120. */
  maxAgeSeconds?: number;
  /** Where burned `jti`s go. Default: in-memory (single process only). */
  replayStore?: ReplayStore;
  /** Clock in milliseconds, for fake clocks in tests. Default `Date.now`. */
  now?: () => number;
  /** A jose key-set function (e.g. `createLocalJWKSet(...)`) used instead of fetching `jwksUrl`. */
  jwks?: JWTVerifyGetKey;
  /** Minimum time between refetches triggered by an unknown `kid`. Default 30. */
  jwksCooldownSeconds?: number;
  /** How long fetched keys are trusted before a refetch. Default 600. */
  jwksCacheMaxAgeSeconds?: number;
  /** Abort a JWKS fetch after this long. Default 5000. */
  jwksTimeoutMs?: number;
}

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

const DEFAULT_ALGORITHMS: readonly GrantAlgorithm[] = ['EdDSA', 'ES256'];
const MAX_GRANT_LENGTH = 16_384;

/** Raised inside key resolution when the key set itself could not be obtained. */
class KeySetUnavailable extends Error {}
/** Raised inside key resolution for a grant without a `kid`: webiso always names its key. */
class MissingKeyId extends Error {}

function failure(error: WebisoClientError): VerifyGrantResult {
  return { ok: false, error };
}

function assertAsymmetric(algorithms: readonly string[]): void {
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty');
  for (const alg of algorithms) {
    if (/^(HS|none$)/i.test(alg)) throw new TypeError(`algorithm ${alg} is not acceptable for grants`);
  }
}

function assertNonNegative(value: number, label: string): void {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${label} must be a non-negative number`);
}

function defaultKeySet(options: GrantVerifierOptions): JWTVerifyGetKey {
  const url = assertTrustworthyUrl(options.jwksUrl ?? joinIssuerPath(options.issuer, '/.well-known/jwks.json'), 'jwksUrl');
  return createRemoteJWKSet(url, {
    cooldownDuration: (options.jwksCooldownSeconds ?? 30) * 1000,
    cacheMaxAge: (options.jwksCacheMaxAgeSeconds ?? 600) * 1000,
    timeoutDuration: options.jwksTimeoutMs ?? 5000,
  });
}

/** Key-selection misses are the grant's fault; anything else means we could not get the key set. */
function isKeySelectionError(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

function guardKeySet(keySet: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (protectedHeader, token) => {
    if (typeof protectedHeader.kid !== 'string' || protectedHeader.kid === '') throw new MissingKeyId();
    try {
      return await keySet(protectedHeader, token);
    } catch (error) {
      if (isKeySelectionError(error)) throw error;
      throw new KeySetUnavailable('could not obtain the JWKS', { cause: error });
    }
  };
}

function mapVerifyError(error: unknown): WebisoClientError {
  if (error instanceof KeySetUnavailable) {
    return new WebisoClientError('jwks_unavailable', 'could not fetch webiso public keys', { cause: error.cause });
  }
  if (error instanceof MissingKeyId) return new WebisoClientError('grant_malformed', 'grant header has no kid');
  const mapped = mapJoseError(error);
  if (mapped === null) throw error;
  return mapped;
}

/** Creates a verifier for grants addressed to one app by one webiso issuer. */
export function createGrantVerifier(options: GrantVerifierOptions): GrantVerifier {
  if (typeof options.appId !== 'string' || options.appId === '') throw new TypeError('appId is required');
  assertTrustworthyUrl(options.issuer, 'issuer');
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  assertAsymmetric(algorithms);
  const skewSeconds = options.clockSkewSeconds ?? 5;
  const maxAgeSeconds = options.maxAgeSeconds ?? 120;
  assertNonNegative(skewSeconds, 'clockSkewSeconds');
  assertNonNegative(maxAgeSeconds, 'maxAgeSeconds');
  const now = options.now ?? Date.now;
  const replayStore = options.replayStore ?? createMemoryReplayStore({ now });
  const keySet = guardKeySet(options.jwks ?? defaultKeySet(options));

  /** The last instant the grant could still pass the time checks: its jti must be remembered until then. */
  function replayWindowEnd(payload: JWTPayload): number {
    const fallback = now() / 1000 + maxAgeSeconds;
    const exp = typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp : fallback;
    const iat = typeof payload.iat === 'number' && Number.isFinite(payload.iat) ? payload.iat : fallback;
    return (Math.min(exp, iat + maxAgeSeconds + 1) + skewSeconds + 1) * 1000;
  }

  /** Burns the jti. Returns an error if it was already used or the store failed. */
  async function burn(payload: JWTPayload): Promise<WebisoClientError | null> {
    const { jti } = payload;
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) {
      return new WebisoClientError('grant_invalid_claims', 'grant has no usable jti', { claim: 'jti' });
    }
    let firstUse: boolean;
    try {
      firstUse = await replayStore.consume(jti, replayWindowEnd(payload));
    } catch (cause) {
      // Fail closed: without the store we cannot tell a replay from a first use.
      return new WebisoClientError('replay_store_unavailable', 'replay store failed', { cause });
    }
    return firstUse ? null : new WebisoClientError('grant_replayed', 'this grant has already been used', { claim: 'jti' });
  }

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
      const mapped = mapVerifyError(error);
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
