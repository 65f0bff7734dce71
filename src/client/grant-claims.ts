import type { JWTPayload } from 'jose';
import { WebisoClientError } from './errors.ts';
import { isHostname, isWellFormedJti, isWellFormedSid, isWellFormedSubject } from './claim-patterns.ts';
import { isFlavor, type GetcredInfo, type GrantClaims, type Identity } from './types.ts';

const MAX_LIST_LENGTH = 256;

export type ClaimsResult = { ok: true; claims: GrantClaims } | { ok: false; error: WebisoClientError };

function invalid(claim: string, message: string): ClaimsResult {
  return { ok: false, error: new WebisoClientError('grant_invalid_claims', message, { claim }) };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_LIST_LENGTH && value.every((item) => typeof item === 'string');
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** The `kind`/`sub`/`machineFQDN` invariants. Anything off is an error, never a silent default. */
function checkKindInvariants(payload: JWTPayload): ClaimsResult | null {
  const { kind, sub, machineFQDN, entitlements, flavor } = payload;
  if (kind === 'user') {
    if (!isWellFormedSubject(sub)) return invalid('sub', 'a user grant needs a non-empty sub');
    if (machineFQDN !== undefined) return invalid('machineFQDN', 'a user grant must not name a machine');
    return null;
  }
  if (kind === 'machine') {
    if (sub !== '') return invalid('sub', 'a machine grant must have an empty sub');
    if (!isHostname(machineFQDN)) return invalid('machineFQDN', 'a machine grant needs a machineFQDN hostname');
    if (!isStringArray(entitlements)) return invalid('entitlements', 'a machine grant needs an entitlements array');
    // Only the machineoruser flavor may yield a machine: a basic login must be a person.
    if (flavor !== 'machineoruser') return invalid('kind', 'machine identities come only from machineoruser');
    return null;
  }
  return invalid('kind', 'kind must be "user" or "machine"');
}

function checkFlavorClaims(payload: JWTPayload): ClaimsResult | null {
  if (!isFlavor(payload.flavor)) return invalid('flavor', 'unknown flavor');
  if (payload.flavor === 'getcred') {
    if (typeof payload.target !== 'string' || payload.target === '') return invalid('target', 'getcred needs a target');
    if (typeof payload.creds_hash !== 'string' || payload.creds_hash === '') {
      return invalid('creds_hash', 'getcred needs a creds_hash');
    }
  }
  return null;
}

function checkCommonClaims(payload: JWTPayload, appId: string, nowSeconds: number, skewSeconds: number): ClaimsResult | null {
  // jose accepts an aud array containing ours; webiso always issues exactly one audience.
  if (payload.aud !== appId) {
    return { ok: false, error: new WebisoClientError('grant_wrong_audience', 'aud must be exactly this app id', { claim: 'aud' }) };
  }
  if (!isWellFormedJti(payload.jti)) return invalid('jti', 'jti must be ≥128 bits of base64url');
  // Optional (older servers omit it), but when present it keys the ended-session store.
  if (payload.sid !== undefined && !isWellFormedSid(payload.sid)) return invalid('sid', 'sid must be 22–64 characters of base64url');
  if (typeof payload.nonce !== 'string') return invalid('nonce', 'nonce must be a string');
  if (!isNumericDate(payload.iat) || !isNumericDate(payload.exp)) return invalid('exp', 'iat and exp must be numbers');
  if (!isNumericDate(payload.auth_time) || payload.auth_time > nowSeconds + skewSeconds) {
    return invalid('auth_time', 'auth_time must be a past NumericDate');
  }
  if (!isStringArray(payload.amr)) return invalid('amr', 'amr must be an array of strings');
  return null;
}

/** Validates the claims jose does not know about. The signature and registered claims are already checked. */
export function parseGrantClaims(
  payload: JWTPayload,
  context: { appId: string; nowSeconds: number; skewSeconds: number },
): ClaimsResult {
  const failure =
    checkCommonClaims(payload, context.appId, context.nowSeconds, context.skewSeconds) ??
    checkFlavorClaims(payload) ??
    checkKindInvariants(payload);
  if (failure !== null) return failure;
  return { ok: true, claims: payload as GrantClaims };
}

function getcredInfo(claims: GrantClaims): GetcredInfo | undefined {
  if (claims.flavor !== 'getcred' || claims.target === undefined || claims.creds_hash === undefined) return undefined;
  return { target: claims.target, credsHash: claims.creds_hash };
}

/** Turns validated claims into the Identity union. Callers must have run parseGrantClaims. */
export function identityFromClaims(claims: GrantClaims): Identity {
  const common = {
    flavor: claims.flavor,
    authTime: claims.auth_time,
    amr: [...claims.amr],
    jti: claims.jti,
    claims,
  };
  const getcred = getcredInfo(claims);
  const withSid = claims.sid === undefined ? common : { ...common, sid: claims.sid };
  const withGetcred = getcred === undefined ? withSid : { ...withSid, getcred };
  if (claims.kind === 'machine') {
    if (claims.machineFQDN === undefined || claims.entitlements === undefined) {
      throw new Error('identityFromClaims: machine claims were not validated');
    }
    return { ...withGetcred, kind: 'machine', fqdn: claims.machineFQDN, entitlements: [...claims.entitlements] };
  }
  return { ...withGetcred, kind: 'user', username: claims.sub };
}
