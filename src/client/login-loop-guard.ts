/**
 * The client half of the redirect-loop breaker (webiso's half is src/login/loop-guard.ts). An app
 * that keeps refusing webiso's answers (its clock is off, its issuer or app id is wrong, its
 * cookies do not come back) sends the browser to webiso again and again, and webiso answers each
 * time from its SSO session without a prompt. The plugin counts the logins it starts for this
 * browser in a fixed window and, past the limit, explains instead of redirecting once more.
 *
 * The count lives in a small signed cookie, not in process memory: the next bounce may reach
 * another instance of the app. A cookie we cannot open (forged, altered, sealed with another
 * secret, malformed) counts as no earlier logins and is replaced by a good one on that redirect:
 * deleting the cookie has the same effect, so treating it as "the limit" would buy nothing against
 * a browser that wants to loop, while a real loop never forges cookies and is counted again from
 * that redirect on. The window is fixed from its first login and never extended by being stopped,
 * so no cookie keeps a browser out for longer than about one window.
 */
import { createSignedCookieCodec, type CookieSecret } from './signed-cookie.ts';

export interface LoginLoopGuardOptions {
  /** Logins started for one browser within the window before the next one is refused. Default 5; 0 turns the breaker off. */
  maxLogins?: number;
  /** The window, in seconds (1 – 3600). Default 60. */
  windowSeconds?: number;
}

export interface LoginLoopSettings {
  readonly maxLogins: number;
  readonly windowSeconds: number;
}

export const LOOP_GUARD_DEFAULTS: LoginLoopSettings = { maxLogins: 5, windowSeconds: 60 };

/** What the cookie holds: when the window started (ms) and how many logins it has seen. */
interface LoginCount {
  readonly v: 1;
  readonly start: number;
  readonly count: number;
}

export type LoginLoopDecision =
  /** Redirect; `cookie` is the sealed new count to set (absent when the breaker is off). */
  | { readonly stop: false; readonly cookie?: string }
  /** Do not redirect: `logins` were started in this window, which ends in `retryAfterSeconds`. */
  | { readonly stop: true; readonly logins: number; readonly retryAfterSeconds: number };

export interface LoginLoopGuard {
  readonly settings: LoginLoopSettings;
  /** Called where a login would start: counts it, or says to stop. Never throws for a bad cookie. */
  countLogin(cookie: string | undefined, nowMs: number): LoginLoopDecision;
}

function integerIn(value: unknown, min: number, max: number, label: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${label} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Validates the options once, at registration, so a misconfigured app fails at startup. */
export function resolveLoopGuardSettings(options: LoginLoopGuardOptions = {}): LoginLoopSettings {
  if (typeof options !== 'object' || options === null) throw new TypeError('loopGuard must be an object');
  return {
    maxLogins: integerIn(options.maxLogins ?? LOOP_GUARD_DEFAULTS.maxLogins, 0, 1000, 'loopGuard.maxLogins'),
    windowSeconds: integerIn(options.windowSeconds ?? LOOP_GUARD_DEFAULTS.windowSeconds, 1, 3600, 'loopGuard.windowSeconds'),
  };
}

function parseLoginCount(value: unknown): LoginCount | null {
  if (typeof value !== 'object' || value === null) return null;
  const raw = value as Record<string, unknown>;
  if (raw.v !== 1 || typeof raw.start !== 'number' || !Number.isFinite(raw.start)) return null;
  if (typeof raw.count !== 'number' || !Number.isInteger(raw.count) || raw.count < 1 || raw.count > 1000) return null;
  return { v: 1, start: raw.start, count: raw.count };
}

export function createLoginLoopGuard(secret: CookieSecret, options?: LoginLoopGuardOptions): LoginLoopGuard {
  const settings = resolveLoopGuardSettings(options);
  const codec = createSignedCookieCodec(secret, 'login-loop');
  const windowMs = settings.windowSeconds * 1000;

  return {
    settings,
    countLogin(cookie, nowMs) {
      if (settings.maxLogins === 0) return { stop: false };
      const previous = parseLoginCount(codec.open(cookie));
      // A start in the future (an instance whose clock runs ahead) counts only if within one window:
      // a far-future start must not hold the window open.
      const current = previous !== null && Math.abs(nowMs - previous.start) < windowMs ? previous : null;
      if (current === null) return { stop: false, cookie: codec.seal({ v: 1, start: nowMs, count: 1 } satisfies LoginCount) };
      if (current.count >= settings.maxLogins) {
        const retryAfterSeconds = Math.max(1, Math.ceil((current.start + windowMs - nowMs) / 1000));
        return { stop: true, logins: current.count, retryAfterSeconds };
      }
      return { stop: false, cookie: codec.seal({ v: 1, start: current.start, count: current.count + 1 } satisfies LoginCount) };
    },
  };
}
