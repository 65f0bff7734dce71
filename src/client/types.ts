import type { JWTPayload } from 'jose';

export const FLAVORS = ['basic', 'getcred', 'machineoruser'] as const;
export type Flavor = (typeof FLAVORS)[number];

export function isFlavor(value: unknown): value is Flavor {
  return typeof value === 'string' && (FLAVORS as readonly string[]).includes(value);
}

/** The grant's claims after validation: every field here has been checked, not just cast. */
export interface GrantClaims extends JWTPayload {
  readonly iss: string;
  readonly aud: string;
  /** The username, or "" for a machine identity. */
  readonly sub: string;
  readonly kind: 'user' | 'machine';
  readonly flavor: Flavor;
  readonly nonce: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly auth_time: number;
  readonly amr: readonly string[];
  readonly machineFQDN?: string;
  readonly entitlements?: readonly string[];
  readonly target?: string;
  readonly creds_hash?: string;
  /** The webiso SSO session the grant came from; absent from servers older than single logout. */
  readonly sid?: string;
}

/** Present on identities from a `getcred` login; the credentials themselves travel separately. */
export interface GetcredInfo {
  readonly target: string;
  /** Binds the grant to the `creds` JWE posted alongside it (checked once decryption lands). */
  readonly credsHash: string;
}

interface IdentityCommon {
  readonly flavor: Flavor;
  /** Seconds since the epoch, as webiso reported it. */
  readonly authTime: number;
  readonly amr: readonly string[];
  /** The grant's id: useful to correlate with webiso's audit log. */
  readonly jti: string;
  readonly getcred?: GetcredInfo;
  /**
   * The webiso SSO session behind this login (for a machine: the kiosk browser's machine session).
   * A back-channel logout token names it; absent when an older webiso issued the grant.
   */
  readonly sid?: string;
}

export interface UserIdentity extends IdentityCommon {
  readonly kind: 'user';
  readonly username: string;
  readonly claims: GrantClaims;
}

export interface MachineIdentity extends IdentityCommon {
  readonly kind: 'machine';
  /** The kiosk machine's fully qualified domain name. There is deliberately no username. */
  readonly fqdn: string;
  readonly entitlements: readonly string[];
  readonly claims: GrantClaims;
}

/** Who logged in, from a freshly verified grant. Switch on `kind`: the two shapes differ. */
export type Identity = UserIdentity | MachineIdentity;

type WithoutClaims<T> = T extends unknown ? Omit<T, 'claims'> : never;

/**
 * What the app session cookie remembers of an Identity: everything but the raw claims, which would
 * only bloat the cookie. This is what `request.webiso` holds.
 */
export type SessionIdentity = WithoutClaims<Identity>;

interface LogoutEventCommon {
  /** The webiso session that ended: every app session whose `identity.sid` equals it is over. */
  readonly sid: string;
  /** The logout token's id (already burned in the replay store). */
  readonly jti: string;
  /** When webiso signed the logout token, in seconds since the epoch. */
  readonly issuedAt: number;
}

export interface UserLogoutEvent extends LogoutEventCommon {
  readonly kind: 'user';
  readonly username: string;
}

export interface MachineLogoutEvent extends LogoutEventCommon {
  readonly kind: 'machine';
  readonly fqdn: string;
}

/** A verified back-channel logout token: which webiso session ended, and whose it was. */
export type LogoutEvent = UserLogoutEvent | MachineLogoutEvent;
