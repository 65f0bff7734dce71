import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../db/sessions.ts';
import type { WebisoError } from '../errors.ts';
import { browserBinding, csrfToken } from '../http/csrf.ts';
import type { WebisoServices } from '../services.ts';

/**
 * The page a logged-in user without the admin role gets on an admin page: it says who they are
 * logged in as and why they cannot go on, and offers to log in as someone else (which ends this
 * session first: /admin/login never switches accounts inside a live session).
 */
export function renderNotAdmin(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession, error: WebisoError, next: string): FastifyReply {
  const binding = browserBinding(request, reply);
  return reply.page(error.statusCode, 'admin/not-admin', {
    title: 'Administrators only',
    username: session.username,
    code: error.code,
    next,
    csrf: csrfToken(services.formSecret, 'logout', binding),
  });
}
