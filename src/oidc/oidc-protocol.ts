import type { FastifyReply } from 'fastify';
import type Provider from 'oidc-provider';
import { LoginContextInvalidError } from '../errors.ts';
import type { Identity, LoginProtocol, LoginStep, Refusal } from '../login/engine.ts';
import type { Subject } from '../login/login-request.ts';
import { recordParticipant, subjectName } from '../logout/session-index.ts';
import type { OidcStore } from './adapter.ts';
import { accountIdOf, saveAccount, snapshotOf } from './claims.ts';
import { OidcIdentityNotReleasableError, OidcInteractionExpiredError } from './errors.ts';
import { opIssuer } from './issuer.ts';
import { oidcLoginParams, parseInteraction, type InteractionView, type OidcLoginRequest } from './oidc-request.ts';

/**
 * OpenID Connect's front door over the login engine. The engine's answer finishes oidc-provider's
 * interaction with the account, amr/acr, the auth time, a grant of the requested scopes and
 * webiso's session id; a refusal finishes it with the error (login_required, access_denied, …),
 * which oidc-provider sends to the client's registered redirect URI. Either way the browser goes
 * back to the provider's resume URL, never to an address from the request.
 */

export const ACR_PASSWORD = 'urn:webiso:acr:password';
export const ACR_MACHINE = 'urn:webiso:acr:machine';

export interface OidcProtocolDeps {
  readonly provider: Provider;
  readonly store: OidcStore;
  readonly interaction: InteractionView;
}

/** Like CAS: a username with `/` could read as a machine (host/…) and is never released as `sub`. */
function checkReleasable(subject: Subject): void {
  if (subject.kind === 'user' && subject.username.includes('/')) {
    throw new OidcIdentityNotReleasableError('This account name cannot be used with this application. Please contact the help desk.');
  }
}

/** The provider's resume URL is under its own issuer; anything else is refused, never followed. */
function resumeRedirect(step: LoginStep<OidcLoginRequest>, returnTo: string): FastifyReply {
  const issuer = opIssuer(step.services.config);
  if (!returnTo.startsWith(`${issuer}/`)) throw new OidcInteractionExpiredError('This login can no longer be completed. Go back to the application and start again.');
  return step.reply.redirect(returnTo, 303);
}

async function grantScopes(provider: Provider, accountId: string, request: OidcLoginRequest): Promise<string> {
  const grant = new provider.Grant({ accountId, clientId: request.app.oidc.clientId });
  grant.addOIDCScope(request.scopes.join(' '));
  if (request.claims.length > 0) grant.addOIDCClaims([...request.claims]);
  return grant.save();
}

async function finishWithLogin(deps: OidcProtocolDeps, step: LoginStep<OidcLoginRequest>, identity: Identity): Promise<FastifyReply> {
  const { services, http, reply, request } = step;
  const { subject } = identity;
  checkReleasable(subject);
  const accountId = accountIdOf(services.config, subject);
  await saveAccount(deps.store, accountId, snapshotOf(subject), services.config.session.absoluteSeconds);
  const grantId = await grantScopes(deps.provider, accountId, request);
  const login = { accountId, amr: [...subject.amr], acr: subject.kind === 'machine' ? ACR_MACHINE : ACR_PASSWORD, ts: subject.authTime, remember: true };
  const returnTo = await deps.provider.interactionResult(http.raw, reply.raw, { login, consent: { grantId }, webiso: { sid: identity.sid } }, { mergeWithLastSubmission: false });
  await recordParticipant(services, { sid: identity.sid, appId: request.app.id, protocol: 'oidc', subject });
  services.audit.record(
    { event: 'oidc.authorized', username: subjectName(subject), clientIp: http.ip, appId: request.app.id, flavor: request.flavor, detail: `kind=${subject.kind} via=${identity.via} scope=${request.scopes.join(',')}` },
    http.log,
  );
  return resumeRedirect(step, returnTo);
}

async function finishWithError(deps: OidcProtocolDeps, step: LoginStep<OidcLoginRequest>, refusal: Refusal): Promise<FastifyReply> {
  const { services, http, reply, request } = step;
  const detail = refusal.auditDetail ? `${refusal.error}: ${refusal.auditDetail}` : refusal.error;
  services.audit.record({ event: 'oidc.refused', username: refusal.username, clientIp: http.ip, appId: request.app.id, flavor: request.flavor, detail }, http.log);
  const returnTo = await deps.provider.interactionResult(http.raw, reply.raw, { error: refusal.error, error_description: refusal.description }, { mergeWithLastSubmission: false });
  return resumeRedirect(step, returnTo);
}

/** One protocol object per interaction: its form posts back to that interaction's URL. */
export function oidcProtocol(deps: OidcProtocolDeps): LoginProtocol<OidcLoginRequest> {
  const uid = deps.interaction.uid;
  return {
    name: 'oidc',
    formAction: `/oidc/interaction/${encodeURIComponent(uid)}`,
    sealParams: oidcLoginParams,
    // the form's POST ends at the client (resume, then its redirect URI): CSP form-action must allow it
    answerOrigins: (request) => [...new Set(request.app.oidc.redirectUris.map((uri) => new URL(uri).origin))],
    openParams: (services, params) => {
      if (params.uid !== uid) throw new LoginContextInvalidError('This login form belongs to another login. Go back to the application and start again.');
      return parseInteraction(services.config, deps.interaction);
    },
    answer: (step, identity) => finishWithLogin(deps, step, identity),
    // the engine's refuse is synchronous; the redirect is sent when the interaction is finished
    refuse: (step, refusal) => {
      void finishWithError(deps, step, refusal).catch((error: unknown) => step.reply.send(error));
      return step.reply;
    },
  };
}
