import { WebisoClientError } from './errors.ts';

/** What webiso's auto-submitting form posted to the return URL. */
export type CallbackForm =
  | { ok: true; grant: string; /** getcred: the compact JWE, still encrypted. */ creds?: string }
  | { ok: false; error: WebisoClientError };

const ERROR_CODE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_DESCRIPTION_LENGTH = 512;

function field(body: Record<string, unknown>, name: string): string | undefined | null {
  const value = body[name];
  if (value === undefined) return undefined;
  // A repeated field arrives as an array: never guess which copy was meant.
  return typeof value === 'string' ? value : null;
}

function loginError(body: Record<string, unknown>): WebisoClientError {
  const rawError = field(body, 'error');
  const rawDescription = field(body, 'error_description');
  const error = typeof rawError === 'string' && ERROR_CODE_PATTERN.test(rawError) ? rawError : 'invalid_error';
  const errorDescription = typeof rawDescription === 'string' ? rawDescription.slice(0, MAX_DESCRIPTION_LENGTH) : '';
  return new WebisoClientError('login_error', `webiso answered ${error}`, { error, errorDescription });
}

/** Reads the callback form body (as parsed by @fastify/formbody or similar). */
export function parseCallbackForm(body: unknown): CallbackForm {
  if (typeof body !== 'object' || body === null) {
    return { ok: false, error: new WebisoClientError('grant_missing', 'the callback carried no form body') };
  }
  const fields = body as Record<string, unknown>;
  const grant = field(fields, 'grant');
  const hasError = fields.error !== undefined;
  if (hasError && grant !== undefined) {
    return { ok: false, error: new WebisoClientError('grant_malformed', 'the callback carried both a grant and an error') };
  }
  if (hasError) return { ok: false, error: loginError(fields) };
  if (grant === null) return { ok: false, error: new WebisoClientError('grant_malformed', 'the grant field was repeated') };
  if (grant === undefined || grant === '') return { ok: false, error: new WebisoClientError('grant_missing', 'no grant was posted') };
  const creds = field(fields, 'creds');
  if (creds === null) return { ok: false, error: new WebisoClientError('grant_malformed', 'the creds field was repeated') };
  return creds === undefined ? { ok: true, grant } : { ok: true, grant, creds };
}
