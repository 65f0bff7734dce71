import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { NotFoundError, WebisoError } from '../errors.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';

/** Browsers get a readable page; API clients (and anything not asking for HTML) get JSON. */
export function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

interface PublicError {
  readonly statusCode: number;
  readonly code: string;
  readonly description: string;
}

/** The database is down or busy (src/store/unavailable.ts): nothing was done, the person may retry. */
const STORE_UNAVAILABLE: PublicError = {
  statusCode: 503,
  code: 'temporarily_unavailable',
  description: 'The login service cannot reach its database right now. Nothing was changed; please try again in a minute.',
};

const UNSTORABLE_TEXT: PublicError = { statusCode: 400, code: 'invalid_request', description: 'The request contains characters that cannot be stored (such as NUL).' };

/** Fastify's own client errors (body too large, bad content type, malformed JSON) keep their 4xx. */
function publicErrorFor(error: FastifyError | WebisoError): PublicError {
  if (error instanceof WebisoError) return error;
  if (isStoreUnavailable(error)) return STORE_UNAVAILABLE;
  // PostgreSQL refuses NUL and invalid UTF-8 in text (22021, 22P05): the request's input, not our fault
  if ((error as { code?: unknown }).code === '22021' || (error as { code?: unknown }).code === '22P05') return UNSTORABLE_TEXT;
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { statusCode: status, code: 'invalid_request', description: 'The request could not be understood.' };
  }
  return { statusCode: 500, code: 'server_error', description: 'Something went wrong on our side. Please try again in a moment.' };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, problem: PublicError): FastifyReply {
  if (wantsHtml(request)) {
    return reply.page(problem.statusCode, 'error', { title: 'Request refused', ...problem, requestId: request.id });
  }
  return reply.code(problem.statusCode).send({ error: problem.code, error_description: problem.description, request_id: request.id });
}

export const errorHandler = fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = publicErrorFor(error);
      if (problem === STORE_UNAVAILABLE) {
        request.log.warn({ event: 'store.unavailable', err: { code: (error as { code?: unknown }).code, message: error.message } }, 'the store did not answer');
        void reply.header('retry-after', '30');
      } else if (problem.statusCode >= 500) {
        request.log.error({ event: 'server.error', err: error }, 'unhandled error');
      } else {
        request.log.info({ event: 'request.rejected', code: problem.code, statusCode: problem.statusCode }, problem.description);
      }
      return sendError(request, reply, problem);
    });
    app.setNotFoundHandler((request, reply) => sendError(request, reply, new NotFoundError('There is no page at this address.')));
  },
  { name: 'webiso-errors', fastify: '5.x', dependencies: ['webiso-views'] },
);
