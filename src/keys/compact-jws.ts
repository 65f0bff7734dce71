import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from './keystore.ts';

/**
 * A synchronous compact-JWS signer over node:crypto for the hot path (every SSO redirect signs a
 * grant). jose's async WebCrypto signing costs about twice as much per token; verification stays
 * with jose everywhere.
 */
export interface CompactSigner {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  sign(header: Record<string, unknown>, payload: Record<string, unknown>): string;
}

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function createCompactSigner(kid: string, alg: SigningAlgorithm, privateJwk: string): CompactSigner {
  const key: KeyObject = createPrivateKey({ key: JSON.parse(privateJwk) as import('node:crypto').JsonWebKey, format: 'jwk' });
  const signInput =
    alg === 'EdDSA'
      ? (data: Buffer) => sign(null, data, key)
      : alg === 'RS256'
        ? (data: Buffer) => sign('sha256', data, key)
        : // JWS wants the raw r||s form, not DER (RFC 7518 §3.4)
          (data: Buffer) => sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  return {
    kid,
    alg,
    sign(header, payload) {
      const input = `${segment({ ...header, alg, kid })}.${segment(payload)}`;
      return `${input}.${signInput(Buffer.from(input)).toString('base64url')}`;
    },
  };
}
