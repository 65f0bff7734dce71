import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const NONCE_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** 192 random bits, base64url: comfortably above the protocol's 128-bit floor. */
export function generateNonce(): string {
  return randomBytes(24).toString('base64url');
}

export function isWellFormedNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE_PATTERN.test(value);
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Constant-time comparison. Hashing first gives equal-length inputs, so neither the content nor the
 * length of the expected nonce leaks through timing.
 */
export function nonceMatches(received: unknown, expected: string): boolean {
  if (!isWellFormedNonce(received) || !isWellFormedNonce(expected)) return false;
  return timingSafeEqual(sha256(received), sha256(expected));
}
