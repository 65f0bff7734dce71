/**
 * A password verifier checks a username/password pair against one back-end
 * (local SQLite accounts, an LDAP directory, a Kerberos realm).
 *
 * Verifiers never throw for an expected outcome: a wrong password, an unknown
 * user or a back-end outage are all returned as values so the login step can
 * audit them precisely (an outage is not a bad password) while showing the
 * browser one generic message.
 */
export type VerifyFailureReason =
  /** unknown user, wrong password, disabled account: never distinguished to the browser */
  | 'invalid_credentials'
  /** the username is not acceptable for this back-end (e.g. a Kerberos instance, a foreign realm) */
  | 'invalid_username'
  /** the back-end could not be reached or did not answer in time: fail closed, "try again later" */
  | 'unavailable';

export interface VerifiedUser {
  /** the canonical username to assert (e.g. lower-cased local name, principal without the realm) */
  readonly username: string;
  /** webiso roles (e.g. "admin"), from the accounts table or mapped from directory groups */
  readonly roles: readonly string[];
  /** directory groups, where the back-end knows them (used by minting policy) */
  readonly groups?: readonly string[];
  /** authentication method references for the grant's `amr` claim */
  readonly amr: readonly string[];
}

export type VerifyOutcome =
  | { readonly ok: true; readonly user: VerifiedUser }
  | { readonly ok: false; readonly reason: VerifyFailureReason; readonly detail?: string };

export interface PasswordVerifier {
  /** "local", "ldap" or "kerberos": lands in audit rows */
  readonly kind: string;
  verify(username: string, password: string): Promise<VerifyOutcome>;
  close?(): Promise<void>;
}
