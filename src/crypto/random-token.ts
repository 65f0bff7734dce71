import { randomFillSync } from 'node:crypto';

/**
 * Random identifiers (CSP nonces, jtis, ticket and session ids) from node:crypto's CSPRNG, drawn
 * from a buffer refilled 4 KiB at a time: one `randomBytes` call per token was ~5% of the SSO
 * redirect (an allocation and a call into OpenSSL each). Every byte is handed out once, then zeroed,
 * so the pool never holds a token already issued.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

export type TokenEncoding = 'base64url' | 'base64' | 'hex';

export function randomToken(bytes: number, encoding: TokenEncoding = 'base64url'): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > POOL_BYTES) throw new RangeError(`randomToken: ${bytes} bytes`);
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const token = pool.toString(encoding, offset, offset + bytes);
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return token;
}
