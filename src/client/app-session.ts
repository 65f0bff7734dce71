import { isWellFormedSid } from './claim-patterns.ts';
import { isFlavor, type Identity, type SessionIdentity } from './types.ts';
import { createSignedCookieCodec, type CookieSecret, type SignedCookieCodec } from './signed-cookie.ts';

/** The app's own session, kept client-side in an HMAC-signed cookie (like Pubcookie's session cookie). */
export interface AppSession {
  readonly v: 1;
  readonly identity: SessionIdentity;
  /** When the session was established (ms): drives the hard expiry. */
  readonly created: number;
  /** Last request seen (ms), refreshed at most once a minute: drives the idle expiry. */
  readonly lastSeen: number;
  /** Whether the login behind it was forced to prompt for credentials. */
  readonly forced: boolean;
}

export interface SessionLimits {
  idleSeconds: number;
  maxSeconds: number;
  /** Tolerated clock jitter between app instances. */
  skewSeconds?: number;
}

export type SessionCheck =
  | { status: 'valid'; session: AppSession; refresh: boolean }
  | { status: 'idle_expired' | 'max_expired' | 'invalid' };

/** Refresh lastSeen at most this often, so most requests do not rewrite the cookie. */
export const SESSION_REFRESH_MS = 60_000;

/** Drops the raw claims: the cookie keeps only what the app needs to show and authorize. */
export function summarizeIdentity(identity: Identity): SessionIdentity {
  const { claims: _claims, ...summary } = identity;
  return summary;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function parseGetcred(value: unknown): { target: string; credsHash: string } | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) return null;
  const { target, credsHash } = value as Record<string, unknown>;
  return typeof target === 'string' && typeof credsHash === 'string' ? { target, credsHash } : null;
}

/** Re-checks the shape even though the MAC is ours: it guards against format changes between versions. */
export function parseSessionIdentity(value: unknown): SessionIdentity | null {
  if (typeof value !== 'object' || value === null) return null;
  const raw = value as Record<string, unknown>;
  const getcred = parseGetcred(raw.getcred);
  if (!isFlavor(raw.flavor) || !isFiniteNumber(raw.authTime) || !isStringArray(raw.amr) || typeof raw.jti !== 'string') return null;
  if (getcred === null) return null;
  if (raw.sid !== undefined && !isWellFormedSid(raw.sid)) return null;
  const common = {
    flavor: raw.flavor,
    authTime: raw.authTime,
    amr: raw.amr,
    jti: raw.jti,
    ...(getcred ? { getcred } : {}),
    ...(raw.sid !== undefined ? { sid: raw.sid } : {}),
  };
  if (raw.kind === 'user' && typeof raw.username === 'string' && raw.username !== '') {
    return { ...common, kind: 'user', username: raw.username };
  }
  if (raw.kind === 'machine' && typeof raw.fqdn === 'string' && raw.fqdn !== '' && isStringArray(raw.entitlements)) {
    return { ...common, kind: 'machine', fqdn: raw.fqdn, entitlements: raw.entitlements };
  }
  return null;
}

function parseAppSession(value: unknown): AppSession | null {
  if (typeof value !== 'object' || value === null) return null;
  const raw = value as Record<string, unknown>;
  if (raw.v !== 1 || !isFiniteNumber(raw.created) || !isFiniteNumber(raw.lastSeen) || typeof raw.forced !== 'boolean') return null;
  const identity = parseSessionIdentity(raw.identity);
  if (identity === null) return null;
  return { v: 1, identity, created: raw.created, lastSeen: raw.lastSeen, forced: raw.forced };
}

/** Applies idle and hard expiry to a decoded session, using only its signed timestamps. */
export function checkSessionTimes(session: AppSession, nowMs: number, limits: SessionLimits): SessionCheck {
  const skewMs = (limits.skewSeconds ?? 5) * 1000;
  if (session.created > nowMs + skewMs || session.lastSeen > nowMs + skewMs || session.lastSeen < session.created) {
    return { status: 'invalid' };
  }
  if (nowMs - session.created >= limits.maxSeconds * 1000) return { status: 'max_expired' };
  if (nowMs - session.lastSeen >= limits.idleSeconds * 1000) return { status: 'idle_expired' };
  return { status: 'valid', session, refresh: nowMs - session.lastSeen >= SESSION_REFRESH_MS };
}

export interface AppSessionCodec {
  seal(session: AppSession): string;
  /** Verifies the MAC and the timestamps; anything wrong reads as "no session". */
  open(cookie: string | undefined, nowMs: number): SessionCheck;
}

export function createAppSessionCodec(secret: CookieSecret, limits: SessionLimits): AppSessionCodec {
  const codec: SignedCookieCodec = createSignedCookieCodec(secret, 'app-session');
  return {
    seal: (session) => codec.seal(session),
    open(cookie, nowMs) {
      const session = parseAppSession(codec.open(cookie));
      return session === null ? { status: 'invalid' } : checkSessionTimes(session, nowMs, limits);
    },
  };
}

export function newAppSession(identity: Identity, nowMs: number, forced: boolean): AppSession {
  return { v: 1, identity: summarizeIdentity(identity), created: nowMs, lastSeen: nowMs, forced };
}
