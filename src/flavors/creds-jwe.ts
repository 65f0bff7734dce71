import { createHash } from 'node:crypto';
import { CompactEncrypt, importJWK, type JWK } from 'jose';

export const CREDS_TYP = 'webiso-creds+jwe';
export const CREDS_ALG = 'ECDH-ES+A256KW';
export const CREDS_ENC = 'A256GCM';

/** The grant carries this hash so a `creds` field cannot be split from its grant or swapped. */
export function credsHash(jwe: string): string {
  return createHash('sha256').update(jwe, 'ascii').digest('base64url');
}

/**
 * Encrypts a ccache to the app's registered public key. No `zip`: compression before
 * encryption leaks, and decompression on the receiving side is a bomb (CVE-2024-28176).
 */
export async function encryptCredentials(ccache: Buffer, appPublicKey: JWK, target: string): Promise<string> {
  const key = await importJWK(appPublicKey, CREDS_ALG);
  return new CompactEncrypt(ccache)
    .setProtectedHeader({
      alg: CREDS_ALG,
      enc: CREDS_ENC,
      typ: CREDS_TYP,
      cty: 'application/x-krb5-ccache',
      ...(appPublicKey.kid ? { kid: appPublicKey.kid } : {}),
      // the target travels authenticated in the header as well as in the grant
      'webiso-target': target,
    })
    .encrypt(key);
}
