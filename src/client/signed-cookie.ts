import { createHmac, timingSafeEqual } from 'node:crypto';

export type CookieSecret = string | Uint8Array;

export interface SignedCookieCodec {
  /** JSON-encodes and MACs `value`: `base64url(json).base64url(hmac)`. */
  seal(value: unknown): string;
  /** Returns the decoded JSON, or null if absent, malformed or not signed by us. */
  open(cookie: string | undefined): unknown;
}

export const MIN_SECRET_BYTES = 32;

function secretBytes(secret: CookieSecret): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
}

/**
 * One key per purpose, derived from the app's secret, so a value sealed as a login-state cookie can
 * never be replayed as a session cookie (or the other way round).
 */
function deriveKey(secret: CookieSecret, purpose: string): Buffer {
  return createHmac('sha256', secretBytes(secret)).update(`webiso-client/v1/${purpose}`).digest();
}

export function assertCookieSecret(secret: CookieSecret): void {
  if (secretBytes(secret).length < MIN_SECRET_BYTES) {
    throw new TypeError(`cookieSecret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
}

export function createSignedCookieCodec(secret: CookieSecret, purpose: string): SignedCookieCodec {
  assertCookieSecret(secret);
  const key = deriveKey(secret, purpose);
  const mac = (body: string): Buffer => createHmac('sha256', key).update(body).digest();

  return {
    seal(value: unknown): string {
      const body = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
      return `${body}.${mac(body).toString('base64url')}`;
    },
    open(cookie: string | undefined): unknown {
      if (typeof cookie !== 'string' || cookie.length > 8192) return null;
      const parts = cookie.split('.');
      if (parts.length !== 2) return null;
      const [body = '', signature = ''] = parts;
      const presented = Buffer.from(signature, 'base64url');
      const expected = mac(body);
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
      try {
        return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
      } catch {
        return null;
      }
    },
  };
}
