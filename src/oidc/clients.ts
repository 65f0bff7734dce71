import { readFileSync } from 'node:fs';
import type { ClientMetadata } from 'oidc-provider';
import { ConfigError } from '../config/load.ts';
import type { AppConfig, WebisoConfig } from '../config/schema.ts';
import { tokenEndpointAuthMethodOf, type AppOidcConfig } from './config-schema.ts';

/**
 * The OIDC clients, all from the YAML config (`apps[].oidc`); oidc-provider's dynamic
 * registration stays off. A client's secret is read from its file at start-up.
 */

export type OidcApp = AppConfig & { readonly oidc: AppOidcConfig };

export function oidcApps(config: WebisoConfig): OidcApp[] {
  return config.apps.filter((app): app is OidcApp => app.oidc !== undefined);
}

export function findOidcApp(config: WebisoConfig, clientId: unknown): OidcApp | undefined {
  if (typeof clientId !== 'string') return undefined;
  return oidcApps(config).find((app) => app.oidc.clientId === clientId);
}

const MIN_SECRET_LENGTH = 32;

function readClientSecret(path: string, option: string): string {
  let secret: string;
  try {
    secret = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${option}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (secret.length < MIN_SECRET_LENGTH) throw new ConfigError(`invalid configuration: ${option}: the secret in ${path} must be at least ${MIN_SECRET_LENGTH} characters`);
  return secret;
}

/** Refresh tokens only for a client that asks for them; then offline_access is among its scopes. */
function clientMetadataOf(app: OidcApp, index: number): ClientMetadata {
  const client = app.oidc;
  const method = tokenEndpointAuthMethodOf(client);
  const scopes = client.refreshTokens ? [...client.scopes, 'offline_access'] : client.scopes;
  return {
    client_id: client.clientId,
    client_name: app.name,
    ...(client.clientSecretFile === undefined ? {} : { client_secret: readClientSecret(client.clientSecretFile, `apps[${index}].oidc.clientSecretFile`) }),
    ...(client.jwks === undefined ? {} : { jwks: client.jwks as ClientMetadata['jwks'] }),
    token_endpoint_auth_method: method,
    redirect_uris: [...client.redirectUris],
    response_types: ['code'],
    grant_types: client.refreshTokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
    scope: scopes.join(' '),
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    subject_type: client.subjectType,
    require_auth_time: true,
    application_type: 'web',
  };
}

export function clientMetadata(config: WebisoConfig): ClientMetadata[] {
  return config.apps.flatMap((app, index) => (app.oidc ? [clientMetadataOf(app as OidcApp, index)] : []));
}
