import { WebisoError } from '../errors.ts';

/**
 * The OpenID Provider's own refusals that are shown to the person (an HTML page for browsers,
 * JSON for the rest, by webiso's error handler). Errors for the client (login_required, …) go
 * back to its registered redirect URI through oidc-provider instead.
 */

/** The interaction cookie is missing, expired or belongs to another login. */
export class OidcInteractionExpiredError extends WebisoError {
  readonly code = 'oidc_interaction_expired';
  readonly statusCode = 400;
}

/** An authorization the provider accepted names a client webiso no longer has (config reloaded). */
export class OidcClientUnknownError extends WebisoError {
  readonly code = 'oidc_client_unknown';
  readonly statusCode = 400;
}

/** A username that could be mistaken for a machine (`host/…`) is never released as `sub`. */
export class OidcIdentityNotReleasableError extends WebisoError {
  readonly code = 'oidc_identity_not_releasable';
  readonly statusCode = 403;
}

/** RP-initiated logout with a client, ID token hint or post-logout redirect URI webiso does not know. */
export class OidcLogoutRequestInvalidError extends WebisoError {
  readonly code = 'oidc_logout_request_invalid';
  readonly statusCode = 400;
}
