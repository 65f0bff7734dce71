import { LoginContextInvalidError } from '../errors.ts';
import { constantTimeEquals, hmac, macEquals } from '../http/hmac.ts';
import { parseGrantingRequest, type GrantingRequest } from './granting-request.ts';

/**
 * The granting request travels through the login form as a signed, browser-bound, short-lived
 * blob: the server trusts nothing in the form it did not sign itself (Pubcookie's editable
 * granting request was a classic weakness).
 */
export const LOGIN_CONTEXT_MAX_AGE_SECONDS = 15 * 60;

interface ContextBody {
  readonly r: Record<string, string>;
  readonly b: string;
  readonly t: number;
}

function toParams(request: GrantingRequest): Record<string, string> {
  const params: Record<string, string> = {
    appid: request.appId,
    return: request.returnUrl,
    flavor: request.flavor,
    nonce: request.nonce,
    passive: request.passive ? '1' : '0',
    force: request.force ? '1' : '0',
  };
  if (request.target !== undefined) params.target = request.target;
  return params;
}

export function sealLoginContext(secret: Buffer, request: GrantingRequest, binding: string, nowSeconds: number): string {
  const body = Buffer.from(JSON.stringify({ r: toParams(request), b: binding, t: nowSeconds } satisfies ContextBody)).toString('base64url');
  return `${body}.${hmac(secret, 'login-context', body).toString('base64url')}`;
}

export function openLoginContext(secret: Buffer, sealed: unknown, binding: string, nowSeconds: number): GrantingRequest {
  const invalid = () => new LoginContextInvalidError('This login form has expired or was altered. Go back to the application and start again.');
  if (typeof sealed !== 'string' || sealed.length > 8192) throw invalid();
  const [body, mac, extra] = sealed.split('.');
  if (!body || !mac || extra !== undefined || !macEquals(hmac(secret, 'login-context', body), mac)) throw invalid();
  const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ContextBody;
  if (typeof parsed.b !== 'string' || !constantTimeEquals(parsed.b, binding)) throw invalid();
  if (nowSeconds - parsed.t > LOGIN_CONTEXT_MAX_AGE_SECONDS || parsed.t > nowSeconds + 60) throw invalid();
  return parseGrantingRequest(parsed.r);
}
