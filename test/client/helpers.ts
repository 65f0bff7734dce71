// Shared fixtures: a fake webiso issuer that mints grants with real keys.
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTVerifyGetKey } from 'jose';

export const ISSUER = 'http://localhost:8080';
export const APP_ID = 'demo';
export const T0_MS = 1_700_000_000_000;
export const T0 = T0_MS / 1000;

export interface TestKey {
  alg: 'EdDSA' | 'ES256';
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as webiso would publish it. */
  jwk: JWK;
}

export async function makeKey(alg: 'EdDSA' | 'ES256' = 'EdDSA', kid = `${alg}-1`): Promise<TestKey> {
  const pair =
    alg === 'EdDSA'
      ? await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
      : await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk };
}

export function localJwks(...keys: TestKey[]): JWTVerifyGetKey {
  return createLocalJWKSet({ keys: keys.map((key) => key.jwk) });
}

export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/** A webiso SSO session id as the server makes them: 32 random bytes of base64url. */
export function randomSid(): string {
  return randomBytes(32).toString('base64url');
}

export type ClaimOverrides = Record<string, unknown>;
export type HeaderOverrides = Record<string, unknown>;

export function userClaims(nonce: string, nowSeconds = T0): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: APP_ID,
    sub: 'alice',
    kind: 'user',
    flavor: 'basic',
    nonce,
    iat: nowSeconds,
    exp: nowSeconds + 60,
    jti: randomId(),
    auth_time: nowSeconds - 30,
    amr: ['pwd'],
    sid: randomSid(),
  };
}

export function machineClaims(nonce: string, nowSeconds = T0): Record<string, unknown> {
  return {
    ...userClaims(nonce, nowSeconds),
    sub: '',
    kind: 'machine',
    flavor: 'machineoruser',
    machineFQDN: 'kiosk-1.lib.example.edu',
    entitlements: ['print', 'catalog'],
    amr: ['machine-cookie'],
  };
}

/** Applies overrides; a value of `undefined` deletes the claim or header parameter. */
function merge(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete out[name];
  return out;
}

export async function signGrant(
  key: TestKey,
  claims: Record<string, unknown>,
  headerOverrides: HeaderOverrides = {},
): Promise<string> {
  const header = merge({ alg: key.alg, kid: key.kid, typ: 'webiso-grant+jwt' }, headerOverrides);
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/** Hand-assembles a compact JWS, for headers SignJWT refuses to produce (e.g. alg none). */
export function rawJws(header: Record<string, unknown>, claims: Record<string, unknown>, signature = ''): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode(header)}.${encode(claims)}.${signature}`;
}

export function userGrant(key: TestKey, nonce: string, overrides: ClaimOverrides = {}, nowSeconds = T0): Promise<string> {
  return signGrant(key, merge(userClaims(nonce, nowSeconds), overrides));
}

export function machineGrant(key: TestKey, nonce: string, overrides: ClaimOverrides = {}, nowSeconds = T0): Promise<string> {
  return signGrant(key, merge(machineClaims(nonce, nowSeconds), overrides));
}

export function withClaims(nonce: string, overrides: ClaimOverrides, base = userClaims(nonce)): Record<string, unknown> {
  return merge(base, overrides);
}

export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** A logout token's claims as webiso sends them for a person's session. */
export function userLogoutClaims(sid: string, nowSeconds = T0): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: APP_ID,
    iat: nowSeconds,
    exp: nowSeconds + 120,
    jti: randomId(),
    sid,
    sub: 'alice',
    events: { [BACKCHANNEL_EVENT]: {} },
  };
}

/** For a kiosk's machine session: no sub, the machine instead. */
export function machineLogoutClaims(sid: string, nowSeconds = T0): Record<string, unknown> {
  return merge(userLogoutClaims(sid, nowSeconds), { sub: undefined, kind: 'machine', machineFQDN: 'kiosk-1.lib.example.edu' });
}

export async function signLogoutToken(key: TestKey, claims: Record<string, unknown>, headerOverrides: HeaderOverrides = {}): Promise<string> {
  const header = merge({ alg: key.alg, kid: key.kid, typ: 'logout+jwt' }, headerOverrides);
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

export function userLogoutToken(key: TestKey, sid: string, overrides: ClaimOverrides = {}, nowSeconds = T0): Promise<string> {
  return signLogoutToken(key, merge(userLogoutClaims(sid, nowSeconds), overrides));
}

/** A settable clock for `now` options. */
export function fakeClock(startMs = T0_MS): { now: () => number; advance: (seconds: number) => void; set: (ms: number) => void } {
  let current = startMs;
  return {
    now: () => current,
    advance: (seconds) => {
      current += seconds * 1000;
    },
    set: (ms) => {
      current = ms;
    },
  };
}
