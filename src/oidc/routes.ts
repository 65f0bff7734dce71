import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { loadOidcLibrary } from './library.ts';
import { InvalidRequestError } from '../errors.ts';
import { beginLogin, submitLogin } from '../login/engine.ts';
import { bodyParams, refusePasswordInUrl, type RawParams } from '../login/granting-request.ts';
import { showLogoutConfirmation } from '../login/logout-routes.ts';
import { loadSsoSession } from '../login/sso-session.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import { OidcInteractionExpiredError } from './errors.ts';
import { opIssuer } from './issuer.ts';
import { mountProvider } from './mount.ts';
import { oidcProtocol } from './oidc-protocol.ts';
import { applyMaxAge, parseInteraction, type InteractionView } from './oidc-request.ts';
import { parseEndSession } from './post-logout.ts';
import { createWebisoOidc, type WebisoOidc } from './provider.ts';

/**
 * The OpenID Provider's routes: oidc-provider under /oidc (discovery, authorization, token,
 * userinfo, JWKS), and webiso's own pages for what the provider hands over — the interaction
 * (the login engine) and RP-initiated logout (webiso's logout page). Registered only when some
 * app has an `oidc` section.
 */

const EXPIRED = 'This login took too long or was already finished. Go back to the application and start again.';

async function loadInteraction(oidc: WebisoOidc, http: FastifyRequest, reply: FastifyReply): Promise<InteractionView> {
  const uid = (http.params as { uid?: string }).uid;
  let interaction;
  try {
    interaction = await oidc.provider.interactionDetails(http.raw, reply.raw);
  } catch {
    throw new OidcInteractionExpiredError(EXPIRED);
  }
  if (interaction.uid !== uid) throw new OidcInteractionExpiredError(EXPIRED);
  return { uid: interaction.uid, params: interaction.params, prompt: { details: interaction.prompt.details } };
}

async function startInteraction(services: WebisoServices, oidc: WebisoOidc, http: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  refusePasswordInUrl(http.query as RawParams);
  const interaction = await loadInteraction(oidc, http, reply);
  const protocol = oidcProtocol({ ...oidc, interaction });
  const request = applyMaxAge(parseInteraction(services.config, interaction), await loadSsoSession(services, http), nowSeconds(services));
  const step = { services, http, reply, request };
  // an SSO login older than max_age needs a password, which passive cannot ask for
  if (request.passive && request.force) return protocol.refuse(step, { error: 'login_required', description: 'The login is older than the application allows.' });
  return beginLogin(protocol, step);
}

async function submitInteraction(services: WebisoServices, oidc: WebisoOidc, http: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  refusePasswordInUrl(http.query as RawParams);
  const body = bodyParams(http.body);
  if (!('ctx' in body || 'csrf' in body)) throw new InvalidRequestError('Log in with the form on the login page.');
  const interaction = await loadInteraction(oidc, http, reply);
  return submitLogin(oidcProtocol({ ...oidc, interaction }), services, http, reply, body);
}

async function endSession(services: WebisoServices, http: FastifyRequest, reply: FastifyReply, params: RawParams): Promise<FastifyReply> {
  const returnTo = await parseEndSession(services.keystore, services.config, params);
  return showLogoutConfirmation(services, http, reply, returnTo);
}

export const oidcRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    if (!services.config.apps.some((candidate) => candidate.oidc)) return;
    const oidc = await createWebisoOidc(services, await loadOidcLibrary(app.log));
    app.get('/oidc/interaction/:uid', async (request, reply) => startInteraction(services, oidc, request, reply));
    app.post('/oidc/interaction/:uid', async (request, reply) => submitInteraction(services, oidc, request, reply));
    app.get('/oidc/session/end', async (request, reply) => endSession(services, request, reply, request.query as RawParams));
    app.post('/oidc/session/end', async (request, reply) => endSession(services, request, reply, bodyParams(request.body)));
    await mountProvider(app, oidc.provider, opIssuer(services.config));
    app.log.info({ event: 'oidc.ready', issuer: opIssuer(services.config) }, 'OpenID Provider mounted');
  },
  { name: 'webiso-oidc', fastify: '5.x', dependencies: ['webiso-views', 'webiso-errors'] },
);
