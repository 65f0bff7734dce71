import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebisoClientErrorCode } from './errors.ts';
import type { SessionEndPolicy } from './session-end-policy.ts';
import type { LogoutEvent } from './types.ts';
import type { LogoutTokenVerifier } from './verify-logout-token.ts';

export interface WebisoBackchannelLogoutHookArgs {
  /** The verified token: `logout.sid` names the webiso session that ended. */
  logout: LogoutEvent;
  request: FastifyRequest;
}

export type BackchannelLogoutHook = (args: WebisoBackchannelLogoutHookArgs) => void | Promise<void>;

export interface BackchannelLogoutRoute {
  path: string;
  verifier: LogoutTokenVerifier;
  sessionEnds: SessionEndPolicy;
  onBackchannelLogout?: BackchannelLogoutHook;
}

/** A logout token is under 2 KiB; the verifier refuses anything over 8 KiB. */
const BODY_LIMIT_BYTES = 10_240;

/** Failures on our side: webiso should retry, so these answer 503 rather than 400. */
const OUR_FAULT: ReadonlySet<WebisoClientErrorCode> = new Set(['jwks_unavailable', 'replay_store_unavailable']);

function sendJson(reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

function isFormPost(request: FastifyRequest): boolean {
  const type = request.headers['content-type'];
  return typeof type === 'string' && type.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** The `logout_token` field: undefined if absent, null if repeated (never guess which copy). */
function logoutTokenField(body: unknown): string | undefined | null {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>).logout_token;
  if (value === undefined || typeof value === 'string') return value;
  return null;
}

/** Body-parser failures (too large, bad encoding) are the poster's fault: 400, in the same JSON shape. */
function routeErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return sendJson(reply, 400, 'invalid_request', error.code ?? 'bad request');
  request.log.error({ err: error }, 'webiso back-channel logout failed');
  return sendJson(reply, 503, 'temporarily_unavailable', 'internal error');
}

/**
 * `POST {path}`: OpenID Connect Back-Channel Logout 1.0, as webiso speaks it. A form field
 * `logout_token`; 200 once the sid is recorded as ended; 400 for a token we refuse (including a
 * replayed one: webiso mints a fresh token per attempt); 503 when our stores fail, so webiso retries.
 */
export function registerBackchannelLogoutRoute(fastify: FastifyInstance, route: BackchannelLogoutRoute): void {
  fastify.post(route.path, { bodyLimit: BODY_LIMIT_BYTES, errorHandler: routeErrorHandler }, async (request, reply) => {
    if (!isFormPost(request)) return sendJson(reply, 400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
    const token = logoutTokenField(request.body);
    if (token === null) return sendJson(reply, 400, 'invalid_request', 'logout_token_malformed');

    const result = await route.verifier.verify(token);
    if (!result.ok) {
      request.log.warn({ code: result.error.code, claim: result.error.claim }, 'webiso logout token rejected');
      const ourFault = OUR_FAULT.has(result.error.code);
      return sendJson(reply, ourFault ? 503 : 400, ourFault ? 'temporarily_unavailable' : 'invalid_request', result.error.code);
    }
    try {
      await route.sessionEnds.endedByWebiso(result.logout.sid);
      await route.onBackchannelLogout?.({ logout: result.logout, request });
    } catch (error) {
      request.log.error({ err: error }, 'webiso back-channel logout could not be recorded');
      return sendJson(reply, 503, 'temporarily_unavailable', 'session_store_unavailable');
    }
    request.log.info({ kind: result.logout.kind, jti: result.logout.jti }, 'app sessions ended by webiso back-channel logout');
    return reply.code(200).header('cache-control', 'no-store').send();
  });
}
