import { compactVerify, decodeProtectedHeader, type CryptoKey } from 'jose';
import type { WebisoConfig } from '../config/schema.ts';
import type { KeyPurpose } from '../keys/keys-repository.ts';
import type { Keystore } from '../keys/keystore.ts';
import { single, type RawParams } from '../login/granting-request.ts';
import { parseReturnUrl } from '../login/return-url.ts';
import { findOidcApp, oidcApps, type OidcApp } from './clients.ts';
import { ID_TOKEN_ALGS } from './config-schema.ts';
import { OidcLogoutRequestInvalidError } from './errors.ts';
import { opIssuer } from './issuer.ts';
import { oidcKeyPurpose } from './keys.ts';

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) ends the *webiso* session: the
 * request is checked here and answered by webiso's logout page, which ends the session through
 * endSessions so every app of the session is logged out (back-channel, CAS, front-channel frames),
 * then continues to the client's registered post_logout_redirect_uri with `state`.
 */

function withState(uri: string, state: string | undefined): string {
  return state === undefined ? uri : `${uri}${uri.includes('?') ? '&' : '?'}state=${encodeURIComponent(state)}`;
}

/** A logout `return` that is a registered post-logout URI of an OIDC client, exactly, with at most a `state`. */
export function matchPostLogoutRedirect(config: WebisoConfig, value: string): URL | undefined {
  const url = parseReturnUrl(value);
  if (!url) return undefined;
  for (const uri of oidcApps(config).flatMap((app) => app.oidc.postLogoutRedirectUris)) {
    if (value === uri) return url;
    const prefix = `${uri}${uri.includes('?') ? '&' : '?'}state=`;
    if (value.startsWith(prefix) && /^[A-Za-z0-9%._~-]*$/.test(value.slice(prefix.length))) return url;
  }
  return undefined;
}

/** The ID token hint's client, by a signature of ours (an expired hint still names its client). */
async function clientOfHint(keystore: Keystore, config: WebisoConfig, hint: string): Promise<OidcApp> {
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(hint).kid;
  } catch {
    kid = undefined;
  }
  const purposes: KeyPurpose[] = ID_TOKEN_ALGS.map(oidcKeyPurpose);
  const keys = kid === undefined ? [] : await Promise.all(purposes.map((purpose) => keystore.verificationKey(purpose, kid)));
  const key = keys.find((candidate): candidate is CryptoKey => candidate !== undefined);
  if (!key) throw new OidcLogoutRequestInvalidError('The logout request carries an ID token webiso did not sign.');
  let payload: { iss?: unknown; aud?: unknown } | null = null;
  try {
    payload = JSON.parse(new TextDecoder().decode((await compactVerify(hint, key)).payload)) as { iss?: unknown; aud?: unknown };
  } catch {
    payload = null;
  }
  const app = payload?.iss === opIssuer(config) ? findOidcApp(config, Array.isArray(payload.aud) ? payload.aud[0] : payload.aud) : undefined;
  if (!app) throw new OidcLogoutRequestInvalidError('The logout request carries an ID token webiso did not sign for a registered application.');
  return app;
}

/** Checks an end-session request; returns where to continue after the logout, if anywhere. */
export async function parseEndSession(keystore: Keystore, config: WebisoConfig, params: RawParams): Promise<string | undefined> {
  const hint = single(params, 'id_token_hint');
  const clientId = single(params, 'client_id');
  const redirect = single(params, 'post_logout_redirect_uri');
  const state = single(params, 'state');
  const hinted = hint ? await clientOfHint(keystore, config, hint) : undefined;
  const named = clientId ? findOidcApp(config, clientId) : undefined;
  if (clientId && !named) throw new OidcLogoutRequestInvalidError('The application that sent you here is not registered with webiso.');
  if (hinted && named && hinted.id !== named.id) throw new OidcLogoutRequestInvalidError('The logout request names two different applications.');
  if (redirect === undefined || redirect === '') return undefined;
  const app = hinted ?? named;
  if (!app) throw new OidcLogoutRequestInvalidError('A logout that returns to an application must name it (client_id or id_token_hint).');
  if (!app.oidc.postLogoutRedirectUris.includes(redirect)) throw new OidcLogoutRequestInvalidError('The address to return to after logging out is not registered for this application.');
  return withState(redirect, state);
}
