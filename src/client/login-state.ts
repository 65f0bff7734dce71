import { isWellFormedNonce } from './nonce.ts';
import { isLocalPath } from './local-path.ts';
import { createSignedCookieCodec, type CookieSecret } from './signed-cookie.ts';
import { isFlavor, type Flavor } from './types.ts';

/** What the app remembers between sending the browser to webiso and receiving the grant. */
export interface LoginState {
  readonly v: 1;
  readonly nonce: string;
  /** Where to send the browser afterwards: always a local path. */
  readonly path: string;
  readonly flavor: Flavor;
  readonly target?: string;
  readonly passive: boolean;
  readonly force: boolean;
  /** ms; the cookie's Max-Age is the browser's business, so the age is enforced here too. */
  readonly created: number;
}

export const LOGIN_STATE_MAX_AGE_SECONDS = 600;

function parseLoginState(value: unknown): LoginState | null {
  if (typeof value !== 'object' || value === null) return null;
  const raw = value as Record<string, unknown>;
  if (raw.v !== 1 || !isWellFormedNonce(raw.nonce) || !isLocalPath(raw.path) || !isFlavor(raw.flavor)) return null;
  if (typeof raw.passive !== 'boolean' || typeof raw.force !== 'boolean') return null;
  if (typeof raw.created !== 'number' || !Number.isFinite(raw.created)) return null;
  if (raw.target !== undefined && typeof raw.target !== 'string') return null;
  const base = { v: 1 as const, nonce: raw.nonce, path: raw.path, flavor: raw.flavor, passive: raw.passive, force: raw.force, created: raw.created };
  return typeof raw.target === 'string' ? { ...base, target: raw.target } : base;
}

export interface LoginStateCodec {
  seal(state: LoginState): string;
  /** Returns the state if signed by us, well-formed and younger than its max age; else null. */
  open(cookie: string | undefined, nowMs: number): LoginState | null;
}

export function createLoginStateCodec(secret: CookieSecret): LoginStateCodec {
  const codec = createSignedCookieCodec(secret, 'login-state');
  return {
    seal: (state) => codec.seal(state),
    open(cookie, nowMs) {
      const state = parseLoginState(codec.open(cookie));
      if (state === null) return null;
      const age = nowMs - state.created;
      return age >= -5_000 && age <= LOGIN_STATE_MAX_AGE_SECONDS * 1000 ? state : null;
    },
  };
}
