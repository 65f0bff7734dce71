import type { Keystore } from '../keys/keystore.ts';
import type { ResolvedGrantingRequest } from './granting-request.ts';
import type { Subject } from './login-request.ts';
import { randomToken } from '../crypto/random-token.ts';

export const GRANT_TYP = 'webiso-grant+jwt';

/** Who the grant asserts: the engine's protocol-neutral subject. */
export type GrantSubject = Subject;

export interface IssuedGrant {
  readonly token: string;
  readonly jti: string;
  readonly expiresAt: number;
}

export interface SignGrantInput {
  readonly keystore: Keystore;
  readonly issuer: string;
  readonly request: ResolvedGrantingRequest;
  readonly subject: GrantSubject;
  /** the session the grant belongs to: single logout names it */
  readonly sid: string;
  readonly nowSeconds: number;
  readonly lifetimeSeconds: number;
  /** flavor-specific claims (getcred: target, creds_hash) */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
}

function subjectClaims(subject: GrantSubject): Record<string, unknown> {
  if (subject.kind === 'user') return { sub: subject.username, kind: 'user' };
  return { sub: '', kind: 'machine', machineFQDN: subject.fqdn, entitlements: [...subject.entitlements] };
}

export async function signGrant(input: SignGrantInput): Promise<IssuedGrant> {
  const signer = input.keystore.activeSigner('grant');
  const jti = randomToken(18);
  const expiresAt = input.nowSeconds + input.lifetimeSeconds;
  // Registered claims last, so flavor-specific extras can never overwrite them.
  const token = signer.sign(
    { typ: GRANT_TYP },
    {
      ...input.extraClaims,
      ...subjectClaims(input.subject),
      flavor: input.request.flavor,
      nonce: input.request.nonce,
      auth_time: input.subject.authTime,
      amr: [...input.subject.amr],
      iss: input.issuer,
      aud: input.request.app.id,
      iat: input.nowSeconds,
      exp: expiresAt,
      jti,
      sid: input.sid,
    },
  );
  return { token, jti, expiresAt };
}
