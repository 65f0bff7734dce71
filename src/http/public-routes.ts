import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { browserBinding, csrfToken } from './csrf.ts';
import { FAVICON_ICO, FAVICON_SVG } from './favicon.ts';
import { loadSsoSession } from '../login/sso-session.ts';
import { formatTime } from '../time-format.ts';

/** The home page (who am I, log out), the JWKS apps verify grants with and the icon (health checks: src/ops). */
export const publicRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    // the keys behind the JWKS refresh in the background (src/keys/key-cache.ts): failures go to
    // this app's log, and the refresh timer stops with the app
    services.keystore.setLogger(app.log);
    app.addHook('onClose', async () => services.keystore.close());
    app.get('/', async (request, reply) => {
      const session = await loadSsoSession(services, request);
      const binding = browserBinding(request, reply);
      return reply.page(200, 'home', {
        title: 'webiso',
        session: session && {
          username: session.username,
          since: formatTime(session.authTime),
          expires: formatTime(Math.min(session.absoluteExpiresAt, session.lastSeenAt + session.idleSeconds)),
        },
        csrf: csrfToken(services.formSecret, 'logout', binding),
      });
    });
    app.get('/.well-known/jwks.json', async (_request, reply) => {
      reply.header('Cache-Control', 'public, max-age=60');
      return services.keystore.publicJwks('grant');
    });
    const ICON_CACHE = 'public, max-age=86400';
    app.get('/favicon.ico', async (_request, reply) => reply.header('Cache-Control', ICON_CACHE).type('image/x-icon').send(FAVICON_ICO));
    app.get('/favicon.svg', async (_request, reply) => reply.header('Cache-Control', ICON_CACHE).type('image/svg+xml').send(FAVICON_SVG));
  },
  { name: 'webiso-public', fastify: '5.x', dependencies: ['webiso-views'] },
);
