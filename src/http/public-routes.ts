import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { browserBinding, csrfToken } from './csrf.ts';
import { loadSsoSession } from '../login/sso-session.ts';

/** The home page (who am I, log out), the JWKS apps verify grants with, and a health check. */
export const publicRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    app.get('/', async (request, reply) => {
      const session = loadSsoSession(services, request);
      const binding = browserBinding(request, reply);
      return reply.page(200, 'home', {
        title: 'webiso',
        session: session && {
          username: session.username,
          since: new Date(session.authTime * 1000).toISOString(),
          expires: new Date(Math.min(session.absoluteExpiresAt, session.lastSeenAt + session.idleSeconds) * 1000).toISOString(),
        },
        csrf: csrfToken(services.formSecret, 'logout', binding),
      });
    });
    app.get('/.well-known/jwks.json', async (_request, reply) => {
      reply.header('Cache-Control', 'public, max-age=60');
      return services.keystore.publicJwks('grant');
    });
    app.get('/healthz', async (_request, reply) => {
      services.db.prepare('SELECT 1').get();
      reply.header('Cache-Control', 'no-store');
      return { status: 'ok' };
    });
  },
  { name: 'webiso-public', fastify: '5.x', dependencies: ['webiso-views'] },
);
