/**
 * One error class for everything the relying side can reject. `code` is the stable, machine-readable
 * part (log it, branch on it); `message` is for humans and may change.
 */

export const WEBISO_CLIENT_ERROR_CODES = [
  'grant_missing',
  'grant_malformed',
  'grant_signature_invalid',
  'grant_unknown_key',
  'grant_wrong_type',
  'grant_wrong_algorithm',
  'grant_wrong_issuer',
  'grant_wrong_audience',
  'grant_wrong_flavor',
  'grant_expired',
  'grant_not_yet_valid',
  'grant_too_old',
  'grant_nonce_mismatch',
  'grant_replayed',
  'grant_invalid_claims',
  'logout_token_missing',
  'logout_token_malformed',
  'logout_token_signature_invalid',
  'logout_token_unknown_key',
  'logout_token_wrong_type',
  'logout_token_wrong_algorithm',
  'logout_token_wrong_issuer',
  'logout_token_wrong_audience',
  'logout_token_expired',
  'logout_token_not_yet_valid',
  'logout_token_too_old',
  'logout_token_replayed',
  'logout_token_invalid_claims',
  'jwks_unavailable',
  'replay_store_unavailable',
  'login_state_missing',
  'login_error',
  'creds_missing',
  'creds_malformed',
  'creds_mismatch',
  'creds_decrypt_failed',
] as const;

export type WebisoClientErrorCode = (typeof WEBISO_CLIENT_ERROR_CODES)[number];

export interface WebisoClientErrorOptions {
  cause?: unknown;
  /** For `login_error`: the `error` field webiso posted (e.g. `access_denied`). */
  error?: string;
  /** For `login_error`: the `error_description` field webiso posted. */
  errorDescription?: string;
  /** For claim failures: which claim or header parameter was at fault. */
  claim?: string;
}

export class WebisoClientError extends Error {
  override readonly name = 'WebisoClientError';
  readonly code: WebisoClientErrorCode;
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  readonly claim: string | undefined;

  constructor(code: WebisoClientErrorCode, message: string, options: WebisoClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.error = options.error;
    this.errorDescription = options.errorDescription;
    this.claim = options.claim;
  }
}

export function isWebisoClientError(value: unknown): value is WebisoClientError {
  return value instanceof WebisoClientError;
}
