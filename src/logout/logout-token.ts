import type { Keystore } from '../keys/keystore.ts';
import { randomToken } from '../crypto/random-token.ts';

/** OpenID Connect Back-Channel Logout 1.0's token type and event. */
export const LOGOUT_TYP = 'logout+jwt';
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
export const LOGOUT_TOKEN_LIFETIME_SECONDS = 120;

export interface LogoutTokenInput {
  readonly issuer: string;
  readonly appId: string;
  readonly sid: string;
  /** the username, or machine:<fqdn> */
  readonly subject: string;
  readonly kind: 'user' | 'machine';
  readonly nowSeconds: number;
}

/**
 * Signed with the grant keys (published in the JWKS) at each delivery attempt, so a retry an hour
 * later still carries a fresh `iat`/`exp`. Never a `nonce` (that is how a receiver tells it from an
 * ID token or grant), always `sid`; a person's `sub`, a machine's FQDN.
 */
export function signLogoutToken(keystore: Keystore, input: LogoutTokenInput): string {
  const identity = input.kind === 'user' ? { sub: input.subject } : { kind: 'machine', machineFQDN: input.subject.replace(/^machine:/, '') };
  return keystore.activeSigner('grant').sign(
    { typ: LOGOUT_TYP },
    {
      ...identity,
      iss: input.issuer,
      aud: input.appId,
      iat: input.nowSeconds,
      exp: input.nowSeconds + LOGOUT_TOKEN_LIFETIME_SECONDS,
      jti: randomToken(18),
      sid: input.sid,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    },
  );
}
