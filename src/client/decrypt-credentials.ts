import { createHash, timingSafeEqual } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { compactDecrypt, decodeProtectedHeader, type CryptoKey, type JWK, importJWK, type KeyObject } from 'jose';
import { WebisoClientError } from './errors.ts';
import type { Identity } from './types.ts';

export const CREDS_TYP = 'webiso-creds+jwe';
const CREDS_ALG = 'ECDH-ES+A256KW';
const CREDS_ENC = 'A256GCM';
const MAX_CREDS_LENGTH = 64 * 1024;

function sameHash(jwe: string, expected: string): boolean {
  const actual = createHash('sha256').update(jwe, 'ascii').digest();
  const wanted = Buffer.from(expected, 'base64url');
  return wanted.length === actual.length && timingSafeEqual(actual, wanted);
}

function checkHeader(jwe: string, target: string): void {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwe) as Record<string, unknown>;
  } catch (cause) {
    throw new WebisoClientError('creds_malformed', 'the creds field is not a compact JWE', { cause });
  }
  // Refused before decrypting: a compressed payload is a decompression bomb (CVE-2024-28176).
  if ('zip' in header) throw new WebisoClientError('creds_malformed', 'compressed credentials are refused');
  if (header.alg !== CREDS_ALG || header.enc !== CREDS_ENC || header.typ !== CREDS_TYP) {
    throw new WebisoClientError('creds_malformed', `unexpected creds header (alg ${String(header.alg)}, enc ${String(header.enc)}, typ ${String(header.typ)})`);
  }
  if (header['webiso-target'] !== target) throw new WebisoClientError('creds_mismatch', 'the credentials are for another service');
}

/**
 * Decrypts the `creds` field webiso posts beside a getcred grant into an MIT credential cache.
 * The verified grant names the target and the SHA-256 of this exact JWE, so creds from another
 * login (or for another service) cannot be swapped in.
 */
export async function decryptCredentials(creds: unknown, identity: Identity, privateKey: CryptoKey | KeyObject | JWK): Promise<Buffer> {
  if (typeof creds !== 'string' || creds === '') throw new WebisoClientError('creds_missing', 'no creds field was posted');
  if (creds.length > MAX_CREDS_LENGTH) throw new WebisoClientError('creds_malformed', 'the creds field is too large');
  const getcred = identity.getcred;
  if (identity.flavor !== 'getcred' || !getcred) throw new WebisoClientError('creds_mismatch', 'the grant is not a getcred grant');
  if (!sameHash(creds, getcred.credsHash)) throw new WebisoClientError('creds_mismatch', 'the credentials do not belong to this grant');
  checkHeader(creds, getcred.target);
  const key = 'kty' in privateKey ? await importJWK(privateKey as JWK, CREDS_ALG) : privateKey;
  try {
    const { plaintext } = await compactDecrypt(creds, key, { keyManagementAlgorithms: [CREDS_ALG], contentEncryptionAlgorithms: [CREDS_ENC] });
    return Buffer.from(plaintext);
  } catch (cause) {
    throw new WebisoClientError('creds_decrypt_failed', 'the credentials could not be decrypted with this key', { cause });
  }
}

/** Writes a credential cache that MIT tools read (`klist -c FILE`), readable by this user only. */
export async function writeCredentialCache(path: string, ccache: Uint8Array): Promise<void> {
  await writeFile(path, ccache, { mode: 0o600, flag: 'wx' });
}
