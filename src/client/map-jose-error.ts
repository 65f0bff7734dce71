import { errors } from 'jose';
import { WebisoClientError, type WebisoClientErrorCode } from './errors.ts';

/** Which kind of webiso token failed: the error codes say so (`grant_expired`, `logout_token_expired`). */
export type TokenFamily = 'grant' | 'logout_token';

/** What can be wrong with a token, whatever its family. */
export type TokenFailure =
  | 'missing'
  | 'malformed'
  | 'signature_invalid'
  | 'unknown_key'
  | 'wrong_type'
  | 'wrong_algorithm'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'replayed'
  | 'invalid_claims';

/** The compiler proves every family/failure pair is a listed code. */
export function tokenErrorCode(family: TokenFamily, failure: TokenFailure): WebisoClientErrorCode {
  return `${family}_${failure}`;
}

/** Claim-validation failures, keyed by the claim jose names in `.claim`. */
function claimFailure(error: errors.JWTClaimValidationFailed): TokenFailure {
  if (error.reason === 'missing' || error.reason === 'invalid') return 'invalid_claims';
  switch (error.claim) {
    case 'typ':
      return 'wrong_type';
    case 'iss':
      return 'wrong_issuer';
    case 'aud':
      return 'wrong_audience';
    case 'iat': // iat too far in the future (beyond clockTolerance)
    case 'nbf':
      return 'not_yet_valid';
    default:
      return 'invalid_claims';
  }
}

function expiredFailure(error: errors.JWTExpired): TokenFailure {
  // jose reports maxTokenAge failures as JWTExpired on the "iat" claim.
  return error.claim === 'iat' ? 'too_old' : 'expired';
}

function failureFor(error: errors.JOSEError): TokenFailure | 'jwks_unavailable' {
  if (error instanceof errors.JWTExpired) return expiredFailure(error);
  if (error instanceof errors.JWTClaimValidationFailed) return claimFailure(error);
  switch (error.code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'wrong_algorithm';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature_invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'unknown_key';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWK_INVALID':
      return 'jwks_unavailable';
    default: // ERR_JWS_INVALID, ERR_JWT_INVALID and anything newer
      return 'malformed';
  }
}

/** Maps a jose error to our codes; returns null for anything that is not a jose error. */
export function mapJoseError(error: unknown, family: TokenFamily = 'grant'): WebisoClientError | null {
  if (!(error instanceof errors.JOSEError)) return null;
  const claim = error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired ? error.claim : undefined;
  const failure = failureFor(error);
  const code = failure === 'jwks_unavailable' ? failure : tokenErrorCode(family, failure);
  return new WebisoClientError(code, error.message, claim === undefined ? { cause: error } : { cause: error, claim });
}

/**
 * jose only raises claim-validation errors after the signature has verified, so their payload is
 * authentic. Returns it, or null for every earlier failure.
 */
export function authenticPayloadOf(error: unknown): errors.JWTClaimValidationFailed['payload'] | null {
  if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) return error.payload;
  return null;
}
