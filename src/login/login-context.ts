import { LoginContextInvalidError } from '../errors.ts';
import { constantTimeEquals, hmac, macEquals } from '../http/hmac.ts';
import type { ProtocolName } from './login-request.ts';

/**
 * A login request travels through the login form as a signed, browser-bound, short-lived blob
 * naming the protocol to answer in: the server trusts nothing in the form it did not sign itself
 * (Pubcookie's editable granting request was a classic weakness).
 */
export const LOGIN_CONTEXT_MAX_AGE_SECONDS = 15 * 60;

interface ContextBody {
  readonly p: ProtocolName;
  readonly r: Record<string, string>;
  readonly b: string;
  readonly t: number;
}

export interface SealedParams {
  readonly protocol: ProtocolName;
  readonly params: Readonly<Record<string, string>>;
}

export function sealLoginContext(secret: Buffer, sealed: SealedParams, binding: string, nowSeconds: number): string {
  const body = Buffer.from(JSON.stringify({ p: sealed.protocol, r: { ...sealed.params }, b: binding, t: nowSeconds } satisfies ContextBody)).toString('base64url');
  return `${body}.${hmac(secret, 'login-context', body).toString('base64url')}`;
}

/** The protocol and its parameters, when the MAC, the browser binding and the age check out. */
export function openLoginContext(secret: Buffer, sealed: unknown, binding: string, nowSeconds: number): SealedParams {
  const invalid = () => new LoginContextInvalidError('This login form has expired or was altered. Go back to the application and start again.');
  if (typeof sealed !== 'string' || sealed.length > 8192) throw invalid();
  const [body, mac, extra] = sealed.split('.');
  if (!body || !mac || extra !== undefined || !macEquals(hmac(secret, 'login-context', body), mac)) throw invalid();
  const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ContextBody;
  if (typeof parsed.b !== 'string' || !constantTimeEquals(parsed.b, binding)) throw invalid();
  if (nowSeconds - parsed.t > LOGIN_CONTEXT_MAX_AGE_SECONDS || parsed.t > nowSeconds + 60) throw invalid();
  return { protocol: parsed.p, params: parsed.r };
}
