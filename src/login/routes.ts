import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import { beginLogin, submitLogin, type Identity, type LoginProtocol, type LoginStep, type Refusal } from './engine.ts';
import {
  bodyParams,
  grantingRequestParams,
  parseGrantingRequest,
  refusePasswordInUrl,
  resolveGrantingRequest,
  type RawParams,
  type ResolvedGrantingRequest,
} from './granting-request.ts';
import { recordParticipant } from '../logout/session-index.ts';
import { signGrant } from './grant.ts';

export { GENERIC_LOGIN_FAILURE } from './engine.ts';

declare module 'fastify' {
  interface FastifyInstance {
    webiso: WebisoServices;
  }
}

/**
 * The native protocol's front door: a granting request in, a signed grant (or an error) out, both
 * posted to the app's registered return URL by an auto-submitting form, never put in a URL.
 */

function postToApp(reply: FastifyReply, request: ResolvedGrantingRequest, fields: Record<string, string>): FastifyReply {
  reply.formActionOrigins.push(request.returnTo.origin);
  return reply.page(200, 'post-to-app', { action: request.returnTo.href, appName: request.app.name, fields });
}

async function sendGrant({ services, http, reply, request }: LoginStep<ResolvedGrantingRequest>, identity: Identity): Promise<FastifyReply> {
  const { subject } = identity;
  const grant = await signGrant({
    keystore: services.keystore,
    issuer: services.config.issuer,
    request,
    subject,
    sid: identity.sid,
    nowSeconds: nowSeconds(services),
    lifetimeSeconds: services.config.grant.lifetimeSeconds,
    extraClaims: identity.extraClaims,
  });
  services.audit.record(
    {
      event: 'grant.issued',
      username: subject.kind === 'user' ? subject.username : `machine:${subject.fqdn}`,
      clientIp: http.ip,
      appId: request.app.id,
      flavor: request.flavor,
      // the jti's prefix identifies the grant in an investigation without making the log a replay source
      detail: `jti=${grant.jti.slice(0, 8)}… kind=${subject.kind}`,
    },
    http.log,
  );
  await recordParticipant(services, { sid: identity.sid, appId: request.app.id, protocol: 'native', subject });
  return postToApp(reply, request, { grant: grant.token, ...identity.extraFields });
}

function sendAppError({ services, http, reply, request }: LoginStep<ResolvedGrantingRequest>, refusal: Refusal): FastifyReply {
  const detail = refusal.auditDetail ? `${refusal.error}: ${refusal.auditDetail}` : refusal.error;
  services.audit.record({ event: 'grant.error', username: refusal.username, clientIp: http.ip, appId: request.app.id, flavor: request.flavor, detail }, http.log);
  return postToApp(reply, request, { error: refusal.error, error_description: refusal.description });
}

export const nativeProtocol: LoginProtocol<ResolvedGrantingRequest> = {
  name: 'native',
  formAction: '/login',
  sealParams: grantingRequestParams,
  openParams: (services, params) => resolveGrantingRequest(services.config, parseGrantingRequest(params)),
  answer: sendGrant,
  refuse: sendAppError,
};

function startNativeLogin(services: WebisoServices, http: FastifyRequest, reply: FastifyReply, params: RawParams) {
  const request = resolveGrantingRequest(services.config, parseGrantingRequest(params));
  return beginLogin(nativeProtocol, { services, http, reply, request });
}

export const loginRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    app.get('/login', async (request, reply) => {
      const query = request.query as RawParams;
      refusePasswordInUrl(query);
      return startNativeLogin(services, request, reply, query);
    });
    app.post('/login', async (request, reply) => {
      refusePasswordInUrl(request.query as RawParams);
      const body = bodyParams(request.body);
      if ('ctx' in body || 'csrf' in body) return submitLogin(nativeProtocol, services, request, reply, body);
      return startNativeLogin(services, request, reply, body);
    });
  },
  { name: 'webiso-login', fastify: '5.x', dependencies: ['webiso-views', 'webiso-errors'] },
);
