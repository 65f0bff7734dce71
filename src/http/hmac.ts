import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function hmac(key: Buffer, ...parts: string[]): Buffer {
  const mac = createHmac('sha256', key);
  // Length-prefixing keeps ("ab","c") and ("a","bc") from producing the same MAC.
  for (const part of parts) mac.update(`${Buffer.byteLength(part)}:${part}`);
  return mac.digest();
}

/** Constant-time comparison of two base64url MACs of any length. */
export function macEquals(expected: Buffer, presented: string): boolean {
  const presentedBytes = Buffer.from(presented, 'base64url');
  // Node's decoder skips invalid characters and ignores trailing bits, so many strings decode to
  // the same MAC: only the canonical encoding counts (this compares the input with itself, not the secret).
  if (presentedBytes.toString('base64url') !== presented) return false;
  return presentedBytes.length === expected.length && timingSafeEqual(presentedBytes, expected);
}

/** Constant-time string equality: both sides are hashed first so lengths leak nothing either. */
export function constantTimeEquals(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
