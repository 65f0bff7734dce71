import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { NotFoundError, WebisoError } from '../errors.ts';

/** Browsers get a readable page; API clients (and anything not asking for HTML) get JSON. */
export function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

interface PublicError {
  readonly statusCode: number;
  readonly code: string;
  readonly description: string;
}

/** Fastify's own client errors (body too large, bad content type, malformed JSON) keep their 4xx. */
function publicErrorFor(error: FastifyError | WebisoError): PublicError {
  if (error instanceof WebisoError) return error;
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
      if (problem.statusCode >= 500) {
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
