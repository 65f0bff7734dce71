import type { AppConfig, FlavorName } from '../config/schema.ts';

/** The protocols webiso answers in; the sealed login context names one, so a form answers in the protocol it came from. */
export type ProtocolName = 'native' | 'cas' | 'oidc';

/**
 * What every protocol's request reduces to once parsed and checked against the registry: the
 * login engine and the flavors see only this, never a protocol's own parameters.
 */
export interface LoginRequest {
  readonly protocol: ProtocolName;
  readonly app: AppConfig;
  readonly flavor: FlavorName;
  /** never prompt: answer from a session or machine cookie, or say login_required */
  readonly passive: boolean;
  /** always prompt for a password (a machine cookie or SSO session does not count) */
  readonly force: boolean;
  /** getcred: the Kerberos service principal the app wants a ticket for */
  readonly target?: string | undefined;
}

/** Who a login asserts. A machine is never a user: `kind` is always explicit. */
export type Subject =
  | {
      readonly kind: 'user';
      readonly username: string;
      readonly authTime: number;
      readonly amr: readonly string[];
      readonly roles: readonly string[];
    }
  | {
      readonly kind: 'machine';
      readonly fqdn: string;
      readonly entitlements: readonly string[];
      readonly location: string | null;
      readonly authTime: number;
      readonly amr: readonly string[];
    };

/** How the identity was established in this request: a typed password, the SSO session, or a machine cookie. */
export type Via = 'password' | 'sso' | 'machine';
