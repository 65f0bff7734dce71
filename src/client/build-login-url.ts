import { generateNonce } from './nonce.ts';
import { isFlavor, type Flavor } from './types.ts';
import { joinIssuerPath } from './issuer-url.ts';

export interface BuildLoginUrlOptions {
  /** webiso's base URL, e.g. `https://login.example.edu`. */
  issuer: string;
  appId: string;
  /** The absolute URL webiso posts the grant back to; must be registered for `appId`. */
  returnUrl: string;
  flavor?: Flavor;
  /** Ask webiso not to prompt: answer `error=login_required` if there is no SSO session. */
  passive?: boolean;
  /** Ask webiso to prompt for credentials even with an SSO session. */
  force?: boolean;
  /** Required for `getcred`: the service the credentials are for. */
  target?: string;
}

export interface LoginRequest {
  url: string;
  /** Keep this (e.g. in a signed cookie) and hand it to `verify` when the grant comes back. */
  nonce: string;
}

function assertAbsoluteHttpUrl(value: string, label: string): void {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new TypeError(`${label} must be an absolute URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`${label} must be an http(s) URL`);
  }
}

function validateLoginOptions(options: BuildLoginUrlOptions, flavor: Flavor): void {
  assertAbsoluteHttpUrl(options.issuer, 'issuer');
  assertAbsoluteHttpUrl(options.returnUrl, 'returnUrl');
  if (typeof options.appId !== 'string' || options.appId === '') throw new TypeError('appId is required');
  if (!isFlavor(flavor)) throw new TypeError(`unknown flavor: ${String(flavor)}`);
  if (options.passive === true && options.force === true) {
    throw new TypeError('passive and force are mutually exclusive');
  }
  const hasTarget = typeof options.target === 'string' && options.target !== '';
  if (flavor === 'getcred' && !hasTarget) throw new TypeError('the getcred flavor requires a target');
  if (flavor !== 'getcred' && options.target !== undefined) {
    throw new TypeError('target is only meaningful for the getcred flavor');
  }
}

/** Builds the URL that starts a login at webiso, with a fresh nonce. */
export function buildLoginUrl(options: BuildLoginUrlOptions): LoginRequest {
  const flavor = options.flavor ?? 'basic';
  validateLoginOptions(options, flavor);
  const nonce = generateNonce();
  const url = new URL(joinIssuerPath(options.issuer, '/login'));
  url.searchParams.set('appid', options.appId);
  url.searchParams.set('return', options.returnUrl);
  url.searchParams.set('flavor', flavor);
  url.searchParams.set('nonce', nonce);
  if (options.passive === true) url.searchParams.set('passive', '1');
  if (options.force === true) url.searchParams.set('force', '1');
  if (flavor === 'getcred' && options.target !== undefined) url.searchParams.set('target', options.target);
  return { url: url.href, nonce };
}
