import { errors } from 'jose';
import { WebisoClientError, type WebisoClientErrorCode } from './errors.ts';

/** Claim-validation failures, keyed by the claim jose names in `.claim`. */
function claimFailureCode(error: errors.JWTClaimValidationFailed): WebisoClientErrorCode {
  if (error.reason === 'missing' || error.reason === 'invalid') return 'grant_invalid_claims';
  switch (error.claim) {
    case 'typ':
      return 'grant_wrong_type';
    case 'iss':
      return 'grant_wrong_issuer';
    case 'aud':
      return 'grant_wrong_audience';
    case 'iat': // iat too far in the future (beyond clockTolerance)
    case 'nbf':
      return 'grant_not_yet_valid';
    default:
      return 'grant_invalid_claims';
  }
}

function expiredCode(error: errors.JWTExpired): WebisoClientErrorCode {
  // jose reports maxTokenAge failures as JWTExpired on the "iat" claim.
  return error.claim === 'iat' ? 'grant_too_old' : 'grant_expired';
}

function codeFor(error: errors.JOSEError): WebisoClientErrorCode {
  if (error instanceof errors.JWTExpired) return expiredCode(error);
  if (error instanceof errors.JWTClaimValidationFailed) return claimFailureCode(error);
  switch (error.code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'grant_wrong_algorithm';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'grant_signature_invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'grant_unknown_key';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWK_INVALID':
      return 'jwks_unavailable';
    default: // ERR_JWS_INVALID, ERR_JWT_INVALID and anything newer
      return 'grant_malformed';
  }
}

/** Maps a jose error to our codes; returns null for anything that is not a jose error. */
export function mapJoseError(error: unknown): WebisoClientError | null {
  if (!(error instanceof errors.JOSEError)) return null;
  const claim = error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired ? error.claim : undefined;
  return new WebisoClientError(codeFor(error), error.message, claim === undefined ? { cause: error } : { cause: error, claim });
}

/**
 * jose only raises claim-validation errors after the signature has verified, so their payload is
 * authentic. Returns it, or null for every earlier failure.
 */
export function authenticPayloadOf(error: unknown): errors.JWTClaimValidationFailed['payload'] | null {
  if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) return error.payload;
  return null;
}
