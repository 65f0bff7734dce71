import type { JWTPayload } from 'jose';
import { isHostname, isWellFormedJti, isWellFormedSid, isWellFormedSubject } from './claim-patterns.ts';
import { WebisoClientError } from './errors.ts';
import type { LogoutEvent } from './types.ts';

/** The `events` member that makes a JWT a back-channel logout token (OpenID Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export type LogoutClaimsResult = { ok: true; logout: LogoutEvent } | { ok: false; error: WebisoClientError };

function invalid(claim: string, message: string): LogoutClaimsResult {
  return { ok: false, error: new WebisoClientError('logout_token_invalid_claims', message, { claim }) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasLogoutEvent(events: unknown): boolean {
  return isPlainObject(events) && Object.hasOwn(events, BACKCHANNEL_LOGOUT_EVENT) && isPlainObject(events[BACKCHANNEL_LOGOUT_EVENT]);
}

/** The rules jose does not know. Signature, iss, typ, exp and iat age are already checked. */
export function parseLogoutTokenClaims(payload: JWTPayload, appId: string): LogoutClaimsResult {
  // jose accepts an aud array containing ours; webiso always addresses one app.
  if (payload.aud !== appId) {
    return { ok: false, error: new WebisoClientError('logout_token_wrong_audience', 'aud must be exactly this app id', { claim: 'aud' }) };
  }
  // A nonce would let an ID token pass as a logout token, or the other way round (§2.6 step 5).
  if (Object.hasOwn(payload, 'nonce')) return invalid('nonce', 'a logout token must not carry a nonce');
  if (!hasLogoutEvent(payload.events)) return invalid('events', `events must hold ${BACKCHANNEL_LOGOUT_EVENT} with an object value`);
  if (!isWellFormedJti(payload.jti)) return invalid('jti', 'jti must be ≥128 bits of base64url');
  if (!isWellFormedSid(payload.sid)) return invalid('sid', 'sid must be 22–64 characters of base64url');
  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return invalid('iat', 'iat must be a number');
  const common = { sid: payload.sid, jti: payload.jti, issuedAt: iat };

  if (payload.kind === 'machine') {
    // webiso omits sub for machines; an empty one (as in machine grants) names no one either.
    if (payload.sub !== undefined && payload.sub !== '') return invalid('sub', 'a machine logout names no person');
    if (!isHostname(payload.machineFQDN)) return invalid('machineFQDN', 'a machine logout needs a machineFQDN hostname');
    return { ok: true, logout: { ...common, kind: 'machine', fqdn: payload.machineFQDN } };
  }
  if (payload.kind !== undefined && payload.kind !== 'user') return invalid('kind', 'kind must be "machine" or absent');
  if (!isWellFormedSubject(payload.sub)) return invalid('sub', 'a user logout needs a non-empty sub');
  if (payload.machineFQDN !== undefined) return invalid('machineFQDN', 'a user logout must not name a machine');
  return { ok: true, logout: { ...common, kind: 'user', username: payload.sub } };
}
