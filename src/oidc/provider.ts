import type { Configuration, KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { OidcLibrary } from './library.ts';
import { getOrCreateSecret } from '../db/secrets.ts';
import { hmac } from '../http/hmac.ts';
import type { WebisoServices } from '../services.ts';
import { createOidcStore, type OidcStore } from './adapter.ts';
import { findAccountIn, OIDC_CLAIMS, pairwiseSub } from './claims.ts';
import { clientMetadata, findOidcApp } from './clients.ts';
import { OIDC_SCOPES } from './config-schema.ts';
import { OIDC_MOUNT, opIssuer } from './issuer.ts';
import { ensureOidcKeys, providerJwks } from './keys.ts';
import { ACR_MACHINE, ACR_PASSWORD } from './oidc-protocol.ts';
import { renderProviderError } from './pages.ts';
import { webisoPolicy } from './policy.ts';

/**
 * webiso's OpenID Provider: panva's oidc-provider (OpenID-certified), configured from webiso's
 * config and storing everything in webiso's database. Only the authorization code flow; the
 * interactions are webiso's login engine (policy.ts, routes.ts); logout is webiso's (the session
 * index and outbox), so oidc-provider's own end-session and back-channel features stay off.
 */

export interface WebisoOidc {
  readonly provider: Provider;
  readonly store: OidcStore;
}

/** oidc-provider's sector of a client (the redirect URIs' host); typed loosely by @types/oidc-provider. */
function sectorOf(client: { clientId: string }): string {
  const sector = (client as { sectorIdentifier?: unknown }).sectorIdentifier;
  return typeof sector === 'string' ? sector : client.clientId;
}

/** Only the grant that the interaction just created counts; a provider session never carries one over. */
async function loadInteractionGrant(ctx: KoaContextWithOIDC) {
  const grantId = (ctx.oidc.result as { consent?: { grantId?: string } } | undefined)?.consent?.grantId;
  return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
}

async function configurationFor(services: WebisoServices, store: OidcStore, library: OidcLibrary): Promise<Configuration> {
  const { config } = services;
  const issuer = opIssuer(config);
  const secure = issuer.startsWith('https://');
  const pairwiseSecret = await getOrCreateSecret(services.store.db, 'oidc-pairwise');
  const lifetimes = config.oidc;
  return {
    adapter: (name: string) => store.adapterFor(name),
    clients: clientMetadata(config),
    findAccount: findAccountIn(store),
    claims: { ...OIDC_CLAIMS, openid: [...OIDC_CLAIMS.openid], profile: [...OIDC_CLAIMS.profile], roles: [...OIDC_CLAIMS.roles], machine: [...OIDC_CLAIMS.machine] },
    scopes: [...OIDC_SCOPES, 'offline_access'],
    acrValues: [ACR_PASSWORD, ACR_MACHINE],
    // ID tokens carry the claims of the granted scopes too, for clients that never call userinfo
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    subjectTypes: ['public', 'pairwise'],
    pairwiseIdentifier: async (_ctx, accountId, client) => pairwiseSub(pairwiseSecret, sectorOf(client), accountId),
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' || findOidcApp(config, client.clientId)?.oidc.requirePkce !== false },
    jwks: (await providerJwks(services)) as Configuration['jwks'],
    enabledJWA: { idTokenSigningAlgValues: ['ES256', 'RS256', 'EdDSA'] },
    clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['authorization_code'], response_types: ['code'] },
    cookies: {
      keys: [hmac(services.formSecret, 'oidc-cookies').toString('base64url')],
      names: { session: 'webiso_oidc_session', interaction: 'webiso_oidc_interaction', resume: 'webiso_oidc_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true, secure, path: OIDC_MOUNT },
      short: { httpOnly: true, sameSite: 'lax', signed: true, secure },
    },
    interactions: { url: (_ctx, interaction) => `${OIDC_MOUNT}/interaction/${interaction.uid}`, policy: webisoPolicy(library) },
    loadExistingGrant: loadInteractionGrant,
    // tokens live by their own lifetimes: the provider session is only a per-browser notepad
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: lifetimes.accessTokenSeconds,
      IdToken: lifetimes.idTokenSeconds,
      AuthorizationCode: lifetimes.codeSeconds,
      RefreshToken: lifetimes.refreshTokenSeconds,
      Interaction: 600,
      Grant: config.session.absoluteSeconds,
      Session: config.session.absoluteSeconds,
    },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      backchannelLogout: { enabled: false },
      registration: { enabled: false },
    },
    // webiso's own logout (routes.ts, the outbox) does what these advertise
    discovery: {
      end_session_endpoint: `${issuer}/session/end`,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      frontchannel_logout_supported: true,
      frontchannel_logout_session_supported: true,
    },
    renderError: async (ctx, out) => renderProviderError(ctx, out),
  };
}

/**
 * oidc-provider puts `sid` into codes and ID tokens only for clients registered with its own
 * back-channel logout (`includeSid()`); webiso's outbox and front-channel logout name every
 * client's session by `sid`, so every client gets it (test/oidc/code-flow.test.ts checks it).
 */
function alwaysIncludeSid(provider: Provider): void {
  const clientClass = (provider as unknown as { Client: { prototype: { includeSid(): boolean } } }).Client;
  clientClass.prototype.includeSid = () => true;
}

export async function createWebisoOidc(services: WebisoServices, library: OidcLibrary): Promise<WebisoOidc> {
  await ensureOidcKeys(services);
  // a consume that lost a race (two token requests with one code, on any hosts) is invalid_grant
  const store = createOidcStore(services.store.db, services.now, { alreadyConsumed: (model) => new library.errors.InvalidGrant(`${model} already used`) });
  const provider = new library.Provider(opIssuer(services.config), await configurationFor(services, store, library));
  // endpoints are built from the issuer: the mount pins Host and protocol (mount.ts)
  provider.proxy = true;
  alwaysIncludeSid(provider);
  return { provider, store };
}
