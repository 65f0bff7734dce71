import type { WebisoConfig } from '../config/schema.ts';
import { InvalidRequestError } from '../errors.ts';
import { single, type RawParams } from '../login/granting-request.ts';
import type { LoginRequest } from '../login/login-request.ts';
import { MAX_RETURN_URL_LENGTH } from '../login/return-url.ts';
import { CasServiceNotRegisteredError } from './errors.ts';
import { matchService, type MatchedService } from './service-match.ts';

/** A CAS /login request, matched to its app: renew is the engine's force, gateway its passive. */
export interface CasLoginRequest extends LoginRequest {
  readonly protocol: 'cas';
  readonly service: MatchedService;
  /** GET: 302 with the ticket in the URL; POST: an auto-posting form (CAS `method=POST`) */
  readonly method: 'GET' | 'POST';
}

/** CAS flags are set by presence (`renew`, `renew=true`); `false` unsets them; anything else is an error. */
function casFlag(params: RawParams, name: string): boolean {
  const value = single(params, name);
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === '' || value === 'true' || value === '1') return true;
  throw new InvalidRequestError(`The parameter "${name}" must be true or false.`);
}

function casMethod(params: RawParams): 'GET' | 'POST' {
  const value = single(params, 'method');
  if (value === undefined || value === '' || value.toUpperCase() === 'GET') return 'GET';
  if (value.toUpperCase() === 'POST') return 'POST';
  throw new InvalidRequestError('The parameter "method" must be GET or POST.');
}

/** Parses /cas/login's parameters (unknown ones, like shib-cas-authn's entityId, are ignored). */
export function parseCasLogin(config: WebisoConfig, params: RawParams): CasLoginRequest {
  const service = single(params, 'service');
  if (service === undefined || service === '') {
    throw new InvalidRequestError('This login link names no application (the "service" parameter is missing). Open the application you want to use and log in from there.');
  }
  if (service.length > MAX_RETURN_URL_LENGTH) throw new InvalidRequestError('The service address is too long.');
  const matched = matchService(config, service);
  if (!matched) throw new CasServiceNotRegisteredError('The application that sent you here is not registered with webiso, so you cannot log in to it from here. Nothing was sent to it.');
  const force = casFlag(params, 'renew');
  // CAS 3.0 leaves renew together with gateway undefined; like Apereo CAS, renew wins.
  const passive = !force && casFlag(params, 'gateway');
  return { protocol: 'cas', app: matched.app, flavor: matched.app.cas.flavor, force, passive, service: matched, method: casMethod(params) };
}

/** The parameters that parse back to the same request (sealed in the login form). */
export function casLoginParams(request: CasLoginRequest): Record<string, string> {
  return { service: request.service.service, renew: String(request.force), gateway: String(request.passive), method: request.method };
}
