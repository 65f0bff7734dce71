/** Shapes of the identifiers webiso puts in its tokens. Checked, never trusted, even after the signature. */

const JTI_PATTERN = /^[A-Za-z0-9_-]{22,256}$/;
/** webiso's SSO session ids: 22–64 characters of base64url (at least 128 random bits). */
const SID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
const FQDN_PATTERN = /^(?=.{1,254}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const MAX_SUB_LENGTH = 256;

/** A token id of at least 128 bits of base64url. */
export function isWellFormedJti(value: unknown): value is string {
  return typeof value === 'string' && JTI_PATTERN.test(value);
}

/** The `sid` claim: it becomes a key in the ended-session store, so its shape is pinned. */
export function isWellFormedSid(value: unknown): value is string {
  return typeof value === 'string' && SID_PATTERN.test(value);
}

export function isHostname(value: unknown): value is string {
  return typeof value === 'string' && FQDN_PATTERN.test(value);
}

/** A username as `sub`: non-empty and bounded. */
export function isWellFormedSubject(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_SUB_LENGTH;
}
