import { z } from 'zod';
import { parseReturnUrl } from '../login/return-url.ts';

/**
 * The OpenID Connect parts of the config: `apps[].oidc` (the app as an OIDC client) and the
 * top-level `oidc` section (token lifetimes). src/config/schema.ts mounts them; docs/oidc.md and
 * docs/configuration.md describe them. There is no dynamic registration: a client exists only here.
 */

/** The flavors an OIDC client may use: getcred needs the native protocol to carry the ticket. */
export const OIDC_FLAVORS = ['basic', 'machineoruser'] as const;
export const OIDC_SCOPES = ['openid', 'profile', 'roles', 'machine'] as const;
/** mod_auth_openidc 2.4 has no EdDSA: such clients get ES256 (the default) or RS256. */
export const ID_TOKEN_ALGS = ['ES256', 'RS256', 'EdDSA'] as const;
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;

/** Redirect URIs are matched exactly (no prefix, no path below): any query is part of the URI. */
const exactUri = z.string().refine((value) => parseReturnUrl(value) !== undefined, {
  message: 'must be an absolute http(s) URL without credentials, fragment or encoded dots and slashes',
});

const publicJwk = z
  .object({ kty: z.enum(['EC', 'RSA', 'OKP']), kid: z.string().optional(), alg: z.string().optional(), use: z.literal('sig').optional() })
  .catchall(z.union([z.string(), z.array(z.string())]))
  .refine((jwk) => !('d' in jwk), { message: 'must be a public key (no "d")' });

export const appOidcSchema = z
  .object({
    clientId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":", "-"'),
    /** a file holding the client secret (at least 32 characters); secrets stay out of the config file */
    clientSecretFile: z.string().min(1).optional(),
    /** the client's public keys, for private_key_jwt */
    jwks: z.object({ keys: z.array(publicJwk).min(1).max(10) }).strict().optional(),
    /** default: client_secret_basic with a secret, private_key_jwt with jwks, none (public, PKCE) with neither */
    tokenEndpointAuthMethod: z.enum(TOKEN_ENDPOINT_AUTH_METHODS).optional(),
    redirectUris: z.array(exactUri).min(1).max(20),
    /** where RP-initiated logout may send the browser afterwards (exact, plus `state`) */
    postLogoutRedirectUris: z.array(exactUri).max(20).default([]),
    scopes: z
      .array(z.enum(OIDC_SCOPES))
      .min(1)
      .default(['openid', 'profile'])
      .refine((scopes) => scopes.includes('openid'), { message: 'must include openid' }),
    idTokenSignedResponseAlg: z.enum(ID_TOKEN_ALGS).default('ES256'),
    flavor: z.enum(OIDC_FLAVORS).default('basic'),
    /** a machineoruser client that needs a person: a kiosk's machine cookie never answers for it */
    refuseMachines: z.boolean().default(false),
    /** pairwise: each client sees its own stable `sub` for a person (machines stay host/<fqdn>) */
    subjectType: z.enum(['public', 'pairwise']).default('public'),
    /** refresh tokens are off unless a client needs them */
    refreshTokens: z.boolean().default(false),
    /** PKCE S256; a public client (no secret, no jwks) cannot turn it off */
    requirePkce: z.boolean().default(true),
  })
  .strict()
  .superRefine((client, ctx) => {
    if (client.clientSecretFile !== undefined && client.jwks !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwks'], message: 'a client has clientSecretFile or jwks, not both' });
    }
    const method = tokenEndpointAuthMethodOf(client);
    const needsSecret = method === 'client_secret_basic' || method === 'client_secret_post';
    if (needsSecret && client.clientSecretFile === undefined) ctx.addIssue({ code: 'custom', path: ['clientSecretFile'], message: `${method} needs clientSecretFile` });
    if (method === 'private_key_jwt' && client.jwks === undefined) ctx.addIssue({ code: 'custom', path: ['jwks'], message: 'private_key_jwt needs jwks' });
    if (method === 'none' && !client.requirePkce) ctx.addIssue({ code: 'custom', path: ['requirePkce'], message: 'a public client (tokenEndpointAuthMethod none) must use PKCE' });
    if (client.refuseMachines && client.flavor !== 'machineoruser') ctx.addIssue({ code: 'custom', path: ['refuseMachines'], message: 'only a machineoruser client can refuse machines' });
  });

export const oidcSchema = z
  .object({
    accessTokenSeconds: z.number().int().min(60).max(86_400).default(600),
    idTokenSeconds: z.number().int().min(60).max(86_400).default(600),
    codeSeconds: z.number().int().min(10).max(600).default(60),
    /** only for clients with refreshTokens: true */
    refreshTokenSeconds: z.number().int().min(300).max(30 * 86_400).default(28_800),
  })
  .strict()
  .prefault({});

export type AppOidcConfig = z.infer<typeof appOidcSchema>;
export type OidcConfig = z.infer<typeof oidcSchema>;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];
export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];

export function tokenEndpointAuthMethodOf(client: Pick<AppOidcConfig, 'tokenEndpointAuthMethod' | 'clientSecretFile' | 'jwks'>): TokenEndpointAuthMethod {
  if (client.tokenEndpointAuthMethod) return client.tokenEndpointAuthMethod;
  if (client.clientSecretFile !== undefined) return 'client_secret_basic';
  return client.jwks !== undefined ? 'private_key_jwt' : 'none';
}

interface IssueSink {
  addIssue(issue: { code: 'custom'; path: Array<string | number>; message: string }): void;
}

/** Cross-app rules, run from the config's superRefine: unique client ids, https in production. */
export function checkOidcClients(config: { mode: string; apps: ReadonlyArray<{ oidc?: AppOidcConfig | undefined }> }, ctx: IssueSink): void {
  const seen = new Set<string>();
  config.apps.forEach((app, index) => {
    if (!app.oidc) return;
    if (seen.has(app.oidc.clientId)) ctx.addIssue({ code: 'custom', path: ['apps', index, 'oidc', 'clientId'], message: `duplicate OIDC client id "${app.oidc.clientId}"` });
    seen.add(app.oidc.clientId);
    if (config.mode !== 'production') return;
    for (const key of ['redirectUris', 'postLogoutRedirectUris'] as const) {
      app.oidc[key].forEach((uri, uriIndex) => {
        if (!uri.startsWith('https://')) ctx.addIssue({ code: 'custom', path: ['apps', index, 'oidc', key, uriIndex], message: 'must be an https:// URL in production mode' });
      });
    }
  });
}
