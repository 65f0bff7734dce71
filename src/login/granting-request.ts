import type { AppConfig, FlavorName, WebisoConfig } from '../config/schema.ts';
import { FLAVOR_NAMES } from '../config/schema.ts';
import {
  FlavorNotAllowedError,
  InvalidRequestError,
  PasswordInUrlError,
  ReturnUrlNotRegisteredError,
  UnknownAppError,
} from '../errors.ts';
import type { LoginRequest } from './login-request.ts';
import { matchReturnUrl, MAX_RETURN_URL_LENGTH } from './return-url.ts';

/** What an app asked for, checked for shape but not yet against the registry. */
export interface GrantingRequest {
  readonly appId: string;
  readonly returnUrl: string;
  readonly flavor: FlavorName;
  readonly nonce: string;
  readonly passive: boolean;
  readonly force: boolean;
  /** getcred: the Kerberos service principal the app wants a ticket for */
  readonly target?: string | undefined;
}

/** A granting request whose app, return URL and flavor are registered and allowed. */
export interface ResolvedGrantingRequest extends GrantingRequest, LoginRequest {
  readonly protocol: 'native';
  readonly app: AppConfig;
  readonly returnTo: URL;
}

export const MAX_NONCE_LENGTH = 128;
const NONCE = /^[A-Za-z0-9._~-]+$/;
const APP_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const KNOWN_FIELDS = new Set(['appid', 'return', 'flavor', 'nonce', 'passive', 'force', 'target']);
const MAX_TARGET_LENGTH = 256;

export type RawParams = Readonly<Record<string, unknown>>;

/** A request body as parameters: a body that is not an object (a JSON string, number or array, text/plain) carries none. */
export function bodyParams(body: unknown): RawParams {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as RawParams) : {};
}

/** A repeated parameter is refused: which copy a proxy, the app and webiso read could differ. */
export function single(params: RawParams, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError(`The parameter "${name}" must appear once.`);
  return value;
}

function required(params: RawParams, name: string): string {
  const value = single(params, name);
  if (value === undefined || value === '') throw new InvalidRequestError(`The parameter "${name}" is missing.`);
  return value;
}

function flag(params: RawParams, name: string): boolean {
  const value = single(params, name);
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1' || value === 'true') return true;
  throw new InvalidRequestError(`The parameter "${name}" must be 1 or 0.`);
}

/** Credentials never travel in a URL: they end up in logs, history and Referer headers. */
export function refusePasswordInUrl(query: RawParams): void {
  if (Object.keys(query).some((name) => /^(pass|passwd|password|pwd)$/i.test(name))) {
    throw new PasswordInUrlError('Passwords are accepted only in the login form, never in a URL. Nothing was checked.');
  }
}

export function parseGrantingRequest(params: RawParams): GrantingRequest {
  const appId = required(params, 'appid');
  if (!APP_ID.test(appId)) throw new UnknownAppError('The application identifier is not one webiso knows.');
  const returnUrl = required(params, 'return');
  if (returnUrl.length > MAX_RETURN_URL_LENGTH) throw new InvalidRequestError('The return URL is too long.');
  const flavorValue = single(params, 'flavor') ?? 'basic';
  if (!(FLAVOR_NAMES as readonly string[]).includes(flavorValue)) throw new InvalidRequestError('The requested login flavor is not one webiso offers.');
  const nonce = required(params, 'nonce');
  if (nonce.length > MAX_NONCE_LENGTH) throw new InvalidRequestError(`The nonce is longer than ${MAX_NONCE_LENGTH} characters.`);
  if (!NONCE.test(nonce)) throw new InvalidRequestError('The nonce may contain only letters, digits and . _ ~ -');
  const passive = flag(params, 'passive');
  const force = flag(params, 'force');
  if (passive && force) throw new InvalidRequestError('A request cannot be both passive (never prompt) and forced (always prompt).');
  const target = single(params, 'target');
  if (target !== undefined && (target.length === 0 || target.length > MAX_TARGET_LENGTH)) throw new InvalidRequestError('The target service name is empty or too long.');
  if (target !== undefined && flavorValue !== 'getcred') throw new InvalidRequestError('A target service is only meaningful with the getcred flavor.');
  return { appId, returnUrl, flavor: flavorValue as FlavorName, nonce, passive, force, target };
}

/** The inverse of parseGrantingRequest: the parameters that parse back to the same request. */
export function grantingRequestParams(request: GrantingRequest): Record<string, string> {
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

export function isGrantingRequestField(name: string): boolean {
  return KNOWN_FIELDS.has(name);
}

export function resolveGrantingRequest(config: WebisoConfig, request: GrantingRequest): ResolvedGrantingRequest {
  const app = config.apps.find((candidate) => candidate.id === request.appId);
  if (!app) throw new UnknownAppError('The application identifier is not one webiso knows.');
  const returnTo = matchReturnUrl(request.returnUrl, app.returnUrls);
  if (!returnTo) throw new ReturnUrlNotRegisteredError(`The return address is not registered for the application "${app.name}".`);
  if (!app.flavors.includes(request.flavor)) throw new FlavorNotAllowedError(`The application "${app.name}" may not use the ${request.flavor} flavor.`);
  return { ...request, protocol: 'native', app, returnTo };
}
