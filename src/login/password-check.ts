import type { FastifyRequest } from 'fastify';
import type { AuthEvent } from '../audit/auth-events.ts';
import { foldUsername } from '../db/users.ts';
import type { WebisoServices } from '../services.ts';
import { MAX_PASSWORD_LENGTH } from '../verifiers/password-hash.ts';
import type { VerifiedUser } from '../verifiers/verifier.ts';
import { nowSeconds as seconds } from '../services.ts';

export const MAX_USERNAME_LENGTH = 256;

export async function isThrottled(services: WebisoServices, account: string, ip: string): Promise<boolean> {
  const { windowSeconds, maxFailuresPerAccount, maxFailuresPerIp } = services.config.throttle;
  const since = seconds(services) - windowSeconds;
  return (
    (await services.throttle.failuresSince('account', account, since)) >= maxFailuresPerAccount ||
    (await services.throttle.failuresSince('ip', ip, since)) >= maxFailuresPerIp
  );
}

/**
 * How a typed password fared: `refused` (throttled, too long, or wrong: the caller shows the one
 * generic failure) or `unavailable` (the back-end could not answer: the caller says try again later).
 */
export type PasswordCheck = { readonly ok: true; readonly user: VerifiedUser } | { readonly ok: false; readonly reason: 'refused' | 'unavailable' };

/** The audit fields every row of one login attempt carries. */
export type LoginAuditFields = Pick<AuthEvent, 'clientIp' | 'appId' | 'flavor' | 'verifier'>;

/**
 * Checks a typed username and password, for the app login and the admin login alike: the
 * throttle first, then the length limits, then the verifier. Every refusal is audited, and all
 * but an unavailable back-end count as a failure against the account and the client IP.
 * Success is left to the caller to audit (it knows what the login was for).
 */
export async function checkPassword(
  services: WebisoServices,
  request: FastifyRequest,
  typedUsername: string,
  password: string,
  audit: LoginAuditFields,
): Promise<PasswordCheck> {
  // PostgreSQL text cannot hold NUL (SQLite can): no account has one, so it becomes U+FFFD before
  // the throttle and the verifier look the name up, and the attempt fails like any unknown user.
  const username = typedUsername.replaceAll('\u0000', '\uFFFD');
  const account = foldUsername(username).slice(0, MAX_USERNAME_LENGTH);
  if (await isThrottled(services, account, request.ip)) {
    services.audit.record({ event: 'login.throttled', username: account, ...audit }, request.log);
    return { ok: false, reason: 'refused' };
  }
  if (username.length > MAX_USERNAME_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    await services.throttle.recordFailure(account, request.ip, seconds(services));
    services.audit.record({ event: 'login.failure', username: account, ...audit, detail: 'input too long' }, request.log);
    return { ok: false, reason: 'refused' };
  }
  const outcome = await services.verifier.verify(username, password);
  if (!outcome.ok) {
    if (outcome.reason === 'unavailable') {
      services.audit.record({ event: 'login.unavailable', username: account, ...audit, detail: outcome.detail }, request.log);
      return { ok: false, reason: 'unavailable' };
    }
    await services.throttle.recordFailure(account, request.ip, seconds(services));
    services.audit.record({ event: 'login.failure', username: account, ...audit, detail: outcome.detail ?? outcome.reason }, request.log);
    return { ok: false, reason: 'refused' };
  }
  return { ok: true, user: outcome.user };
}
