import { createHash } from 'node:crypto';
import { randomToken } from '../crypto/random-token.ts';
import type { FastifyReply } from 'fastify';
import { compactVerify, decodeProtectedHeader, SignJWT } from 'jose';
import { hasDuplicateMembers } from '../client/strict-json.ts';
import type { Keystore } from '../keys/keystore.ts';
import { checkFqdn } from './fqdn.ts';

/**
 * The machine cookie: a compact JWS signed with webiso's *machine* key (never published, separate
 * from the grant key), typed so that no other verifier accepts it and it accepts nothing else.
 */
export const MACHINE_COOKIE = '__Host-webiso_machine';
export const MACHINE_TYP = 'webiso-machine+jwt';
export const MACHINE_ALG = 'EdDSA';
export const MAX_MACHINE_VERSION = 0xffff_ffff;
/** Browsers cap a cookie near 4096 bytes; anything longer is not ours. */
const MAX_COOKIE_LENGTH = 4096;
const JTI_BYTES = 18; // 144 bits
const JTI = /^[A-Za-z0-9_-]{22,64}$/; // at least 128 bits of base64url
const ALLOWED_HEADER_KEYS = new Set(['alg', 'kid', 'typ']);
const CLAIM_KEYS = ['exp', 'fqdn', 'iat', 'jti', 'ver'];

export const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' } as const;

export interface MachineClaims {
  readonly fqdn: string;
  readonly ver: number;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/** Why a presented machine cookie is not accepted; stored in sightings, stable for dashboards. */
export type MachineCookieRejection =
  | 'malformed'
  | 'wrong_typ'
  | 'wrong_alg'
  | 'unknown_key'
  | 'bad_signature'
  | 'bad_claims'
  | 'expired'
  | 'issued_in_future'
  | 'invalid_before'
  | 'unknown_machine'
  | 'suspended'
  | 'auto_suspended'
  | 'revoked_version'
  | 'future_version';

/** The signature-level check: `authentic` means webiso's machine key signed these well-formed claims. */
export type MachineCookieCheck =
  | { readonly authentic: true; readonly claims: MachineClaims }
  | { readonly authentic: false; readonly reason: MachineCookieRejection; readonly claimedFqdn: string | undefined };

export function newJti(): string {
  return randomToken(JTI_BYTES);
}

/** Sightings store this, never the jti: the table must not become a list of live cookie ids. */
export function hashJti(jti: string): string {
  return createHash('sha256').update(jti).digest('base64url').slice(0, 22);
}

export async function signMachineCookie(keystore: Keystore, claims: MachineClaims): Promise<string> {
  const { kid, alg, key } = await keystore.activeKey('machine');
  if (alg !== MACHINE_ALG) throw new Error(`the machine key must be ${MACHINE_ALG}, found ${alg}`);
  return new SignJWT({ fqdn: claims.fqdn, ver: claims.ver })
    .setProtectedHeader({ alg, kid, typ: MACHINE_TYP })
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .setJti(claims.jti)
    .sign(key);
}

export function setMachineCookie(reply: FastifyReply, value: string, claims: MachineClaims, nowSeconds: number): void {
  reply.setCookie(MACHINE_COOKIE, value, { ...COOKIE_OPTIONS, maxAge: Math.max(0, claims.exp - nowSeconds) });
}

const isUint = (value: unknown, max: number): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;

/** Strict claim parsing: exactly the five claims, each of the right type; anything else is not ours. */
export function parseMachineClaims(payload: unknown): MachineClaims | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const record = payload as Record<string, unknown>;
  if (Object.keys(record).sort().join(',') !== CLAIM_KEYS.join(',')) return undefined;
  const { fqdn, ver, iat, exp, jti } = record;
  const fqdnCheck = checkFqdn(fqdn);
  if (!fqdnCheck.ok || fqdnCheck.fqdn !== fqdn) return undefined;
  if (!isUint(ver, MAX_MACHINE_VERSION) || ver === 0) return undefined;
  if (!isUint(iat, Number.MAX_SAFE_INTEGER) || !isUint(exp, Number.MAX_SAFE_INTEGER) || exp <= iat) return undefined;
  if (typeof jti !== 'string' || !JTI.test(jti)) return undefined;
  return { fqdn: fqdnCheck.fqdn, ver, iat, exp, jti };
}

/** What an unverifiable cookie claims to be, cleaned for the audit log (never trusted). */
function claimedFqdnOf(value: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(value.split('.')[1] ?? '', 'base64url').toString('utf8')) as { fqdn?: unknown };
    // eslint-disable-next-line no-control-regex
    return typeof payload.fqdn === 'string' ? payload.fqdn.replace(/[^\x21-\x7e]/g, '?').slice(0, 253) : undefined;
  } catch {
    return undefined;
  }
}

type HeaderCheck = { readonly ok: true; readonly kid: string } | { readonly ok: false; readonly reason: MachineCookieRejection };

function checkHeader(value: string): HeaderCheck {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(value) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (header.typ !== MACHINE_TYP) return { ok: false, reason: 'wrong_typ' };
  if (header.alg !== MACHINE_ALG) return { ok: false, reason: 'wrong_alg' };
  // no jwk/jku/x5u/crit/b64…: keys come from our own table only
  if (!Object.keys(header).every((name) => ALLOWED_HEADER_KEYS.has(name))) return { ok: false, reason: 'malformed' };
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 64) return { ok: false, reason: 'unknown_key' };
  return { ok: true, kid: header.kid };
}

type SignatureCheck = { readonly ok: true; readonly payload: unknown } | { readonly ok: false; readonly reason: MachineCookieRejection };

async function verifySignature(keystore: Keystore, value: string, kid: string): Promise<SignatureCheck> {
  // Only a key of purpose 'machine' can verify: a grant (or anything else webiso's grant key signed) fails here.
  const key = await keystore.verificationKey('machine', kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(value, key, { algorithms: [MACHINE_ALG] }));
  } catch {
    return { ok: false, reason: 'bad_signature' };
  }
  try {
    return { ok: true, payload: JSON.parse(new TextDecoder().decode(payload)) as unknown };
  } catch {
    return { ok: false, reason: 'bad_claims' };
  }
}

/**
 * Signature-level check of a presented cookie: alg and typ pinned, a *machine* key by kid, strict
 * claims. Time, invalid-before and the version table are checked by presentMachineCookie.
 */
export async function checkMachineCookie(keystore: Keystore, value: string): Promise<MachineCookieCheck> {
  const rejected = (reason: MachineCookieRejection): MachineCookieCheck => ({ authentic: false, reason, claimedFqdn: claimedFqdnOf(value) });
  if (value.length > MAX_COOKIE_LENGTH || value.split('.').length !== 3 || hasDuplicateMembers(value)) return rejected('malformed');
  const header = checkHeader(value);
  if (!header.ok) return rejected(header.reason);
  const signature = await verifySignature(keystore, value, header.kid);
  if (!signature.ok) return rejected(signature.reason);
  const claims = parseMachineClaims(signature.payload);
  return claims ? { authentic: true, claims } : rejected('bad_claims');
}
