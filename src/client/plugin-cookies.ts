import { LOGIN_STATE_MAX_AGE_SECONDS } from './login-state.ts';

export interface CookieNames {
  nonce: string;
  session: string;
  passive: string;
  /** The loop breaker's count of logins started (src/client/login-loop-guard.ts). */
  loop: string;
}

export function cookieNames(secure: boolean): CookieNames {
  // __Host- pins the cookie to this exact origin, path / and Secure: no subdomain can plant one.
  const prefix = secure ? '__Host-' : '';
  return {
    nonce: `${prefix}webiso_app_nonce`,
    session: `${prefix}webiso_app_session`,
    passive: `${prefix}webiso_app_passive`,
    loop: `${prefix}webiso_app_logins`,
  };
}

const PASSIVE_MARKER_SECONDS = 300;

export function cookieOptions(secure: boolean, loopWindowSeconds: number) {
  const base = { path: '/', httpOnly: true, secure } as const;
  return {
    // SameSite=None so the cookie rides along on webiso's cross-site form POST (browsers demand Secure for it).
    nonce: { ...base, sameSite: secure ? 'none' : 'lax', maxAge: LOGIN_STATE_MAX_AGE_SECONDS },
    session: { ...base, sameSite: 'lax' },
    passive: { ...base, sameSite: 'lax', maxAge: PASSIVE_MARKER_SECONDS },
    // Read and written only on top-level GETs of protected pages, where Lax cookies travel.
    loop: { ...base, sameSite: 'lax', maxAge: loopWindowSeconds },
  } as const;
}
