import type { WebisoConfig } from '../config/schema.ts';
import type { SsoSession } from '../db/sessions.ts';
import { InvalidRequestError } from '../errors.ts';
import type { LoginRequest } from '../login/login-request.ts';
import { findOidcApp, type OidcApp } from './clients.ts';
import { OIDC_CLAIMS } from './claims.ts';
import { OidcClientUnknownError } from './errors.ts';

/**
 * An OIDC authorization request as the login engine sees it, rebuilt from the interaction that
 * oidc-provider stored after validating the request (client, redirect URI, PKCE, scopes):
 * `prompt=login` is the engine's force, `prompt=none` its passive, `max_age` forces a password
 * when the SSO session's login is older.
 */
export interface OidcLoginRequest extends LoginRequest {
  readonly protocol: 'oidc';
  readonly app: OidcApp;
  /** the interaction (oidc-provider's uid) this login answers */
  readonly uid: string;
  readonly scopes: readonly string[];
  /** claims asked for by name in the `claims` parameter, among those the client's scopes allow */
  readonly claims: readonly string[];
  readonly maxAge?: number | undefined;
}

export interface InteractionView {
  readonly uid: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly prompt: { readonly details?: Readonly<Record<string, unknown>> | undefined };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The claim names of the `claims` parameter (OIDC Core §5.5) that the client's scopes allow. */
function requestedClaims(app: OidcApp, claimsParam: unknown): string[] {
  const raw = text(claimsParam);
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidRequestError('The "claims" parameter is not valid JSON.');
  }
  const allowed = new Set<string>(app.oidc.scopes.flatMap((scope) => OIDC_CLAIMS[scope]));
  const names = new Set<string>();
  for (const member of ['id_token', 'userinfo']) {
    const requested = (parsed as Record<string, unknown> | null)?.[member];
    if (requested && typeof requested === 'object') Object.keys(requested).forEach((name) => allowed.has(name) && names.add(name));
  }
  return [...names];
}

function maxAgeOf(value: unknown): number | undefined {
  const raw = text(value);
  if (raw === undefined) return undefined;
  const maxAge = Number(raw);
  return Number.isSafeInteger(maxAge) && maxAge >= 0 ? maxAge : undefined;
}

/** Reads the stored interaction: its client must still be an OIDC app of this config. */
export function parseInteraction(config: WebisoConfig, interaction: InteractionView): OidcLoginRequest {
  const app = findOidcApp(config, interaction.params.client_id);
  if (!app) throw new OidcClientUnknownError('The application that sent you here is no longer registered with webiso. Nothing was sent to it.');
  const prompts = new Set((text(interaction.params.prompt) ?? '').split(' '));
  const scopes = (text(interaction.params.scope) ?? 'openid').split(' ').filter((scope) => (app.oidc.scopes as readonly string[]).includes(scope));
  return {
    protocol: 'oidc',
    app,
    // a client that needs a person never gets the kiosk's machine identity
    flavor: app.oidc.refuseMachines ? 'basic' : app.oidc.flavor,
    force: prompts.has('login'),
    passive: interaction.prompt.details?.passive === true,
    uid: interaction.uid,
    scopes,
    claims: requestedClaims(app, interaction.params.claims),
    maxAge: maxAgeOf(interaction.params.max_age),
  };
}

/** `max_age`: a person whose SSO login is older types the password again (passive: login_required). */
export function applyMaxAge(request: OidcLoginRequest, session: SsoSession | undefined, nowSeconds: number): OidcLoginRequest {
  if (request.maxAge === undefined || !session || request.force) return request;
  return nowSeconds - session.authTime > request.maxAge ? { ...request, force: true } : request;
}

/** What the login form seals: only the interaction's uid; the rest is re-read from the interaction. */
export function oidcLoginParams(request: OidcLoginRequest): Record<string, string> {
  return { uid: request.uid, client_id: request.app.oidc.clientId };
}
