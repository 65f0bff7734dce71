/**
 * What grants and logout tokens share: one issuer, one key set, pinned asymmetric algorithms, one
 * clock, and single-use ids. Each token kind keeps its own claim rules in its own file.
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { WebisoClientError } from './errors.ts';
import { assertTrustworthyUrl, joinIssuerPath } from './issuer-url.ts';
import { mapJoseError, tokenErrorCode, type TokenFamily } from './map-jose-error.ts';
import { createMemoryReplayStore, type ReplayStore } from './replay-store.ts';

/** Asymmetric algorithms only: a shared-secret (HS*) token could be forged by any app. */
export type TokenAlgorithm =
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

export interface WebisoTokenVerifierOptions {
  /** webiso's issuer URL; the token's `iss` must equal it exactly. */
  issuer: string;
  /** This app's id; the token's `aud` must equal it exactly. */
  appId: string;
  /** Defaults to `{issuer}/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Defaults to `['EdDSA', 'ES256']`. */
  algorithms?: readonly TokenAlgorithm[];
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

/** The options after validation, with every default filled in. */
export interface TokenVerifierSettings {
  readonly issuer: string;
  readonly appId: string;
  readonly algorithms: TokenAlgorithm[];
  readonly skewSeconds: number;
  readonly maxAgeSeconds: number;
  readonly now: () => number;
  readonly replayStore: ReplayStore;
  readonly keySet: JWTVerifyGetKey;
}

const DEFAULT_ALGORITHMS: readonly TokenAlgorithm[] = ['EdDSA', 'ES256'];

/** Raised inside key resolution when the key set itself could not be obtained. */
class KeySetUnavailable extends Error {}
/** Raised inside key resolution for a token without a `kid`: webiso always names its key. */
class MissingKeyId extends Error {}

function assertAsymmetric(algorithms: readonly string[]): void {
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty');
  for (const alg of algorithms) {
    if (/^(HS|none$)/i.test(alg)) throw new TypeError(`algorithm ${alg} is not acceptable for webiso tokens`);
  }
}

function assertNonNegative(value: number, label: string): void {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${label} must be a non-negative number`);
}

/** webiso's published keys, fetched from `jwksUrl` (default `{issuer}/.well-known/jwks.json`) and cached. */
export function createWebisoKeySet(options: WebisoTokenVerifierOptions): JWTVerifyGetKey {
  const url = assertTrustworthyUrl(options.jwksUrl ?? joinIssuerPath(options.issuer, '/.well-known/jwks.json'), 'jwksUrl');
  return createRemoteJWKSet(url, {
    cooldownDuration: (options.jwksCooldownSeconds ?? 30) * 1000,
    cacheMaxAge: (options.jwksCacheMaxAgeSeconds ?? 600) * 1000,
    timeoutDuration: options.jwksTimeoutMs ?? 5000,
  });
}

/** Key-selection misses are the token's fault; anything else means we could not get the key set. */
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

/** Validates the options once, at construction, so a misconfigured app fails at startup. */
export function resolveTokenVerifierSettings(options: WebisoTokenVerifierOptions): TokenVerifierSettings {
  if (typeof options.appId !== 'string' || options.appId === '') throw new TypeError('appId is required');
  assertTrustworthyUrl(options.issuer, 'issuer');
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  assertAsymmetric(algorithms);
  const skewSeconds = options.clockSkewSeconds ?? 5;
  const maxAgeSeconds = options.maxAgeSeconds ?? 120;
  assertNonNegative(skewSeconds, 'clockSkewSeconds');
  assertNonNegative(maxAgeSeconds, 'maxAgeSeconds');
  const now = options.now ?? Date.now;
  return {
    issuer: options.issuer,
    appId: options.appId,
    algorithms,
    skewSeconds,
    maxAgeSeconds,
    now,
    replayStore: options.replayStore ?? createMemoryReplayStore({ now }),
    keySet: guardKeySet(options.jwks ?? createWebisoKeySet(options)),
  };
}

/** Turns whatever jwtVerify threw into our error; rethrows programming errors. */
export function mapVerifyError(error: unknown, family: TokenFamily): WebisoClientError {
  if (error instanceof KeySetUnavailable) {
    return new WebisoClientError('jwks_unavailable', 'could not fetch webiso public keys', { cause: error.cause });
  }
  if (error instanceof MissingKeyId) return new WebisoClientError(tokenErrorCode(family, 'malformed'), 'token header has no kid');
  const mapped = mapJoseError(error, family);
  if (mapped === null) throw error;
  return mapped;
}

export type JtiBurner = (payload: JWTPayload) => Promise<WebisoClientError | null>;

/**
 * Spends a token's `jti` in the replay store. `namespace` keeps grant ids and logout-token ids
 * apart when both share one store.
 */
export function createJtiBurner(settings: TokenVerifierSettings, family: TokenFamily, namespace: string): JtiBurner {
  const { now, maxAgeSeconds, skewSeconds, replayStore } = settings;

  /** The last instant the token could still pass the time checks: its jti must be remembered until then. */
  function replayWindowEnd(payload: JWTPayload): number {
    const fallback = now() / 1000 + maxAgeSeconds;
    const exp = typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp : fallback;
    const iat = typeof payload.iat === 'number' && Number.isFinite(payload.iat) ? payload.iat : fallback;
    return (Math.min(exp, iat + maxAgeSeconds + 1) + skewSeconds + 1) * 1000;
  }

  return async (payload) => {
    const { jti } = payload;
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) {
      return new WebisoClientError(tokenErrorCode(family, 'invalid_claims'), 'token has no usable jti', { claim: 'jti' });
    }
    let firstUse: boolean;
    try {
      firstUse = await replayStore.consume(namespace + jti, replayWindowEnd(payload));
    } catch (cause) {
      // Fail closed: without the store we cannot tell a replay from a first use.
      return new WebisoClientError('replay_store_unavailable', 'replay store failed', { cause });
    }
    return firstUse ? null : new WebisoClientError(tokenErrorCode(family, 'replayed'), 'this token has already been used', { claim: 'jti' });
  };
}
