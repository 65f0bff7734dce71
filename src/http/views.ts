import { Eta } from 'eta';
import fp from 'fastify-plugin';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VIEWS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'views');

declare module 'fastify' {
  interface FastifyReply {
    /** Renders views/NAME.eta inside the layout, HTML-escaped by default, with the CSP nonce. */
    page(statusCode: number, name: string, data?: Record<string, unknown>): FastifyReply;
  }
}

export const views = fp(
  async (app) => {
    // autoEscape: `<%= %>` escapes; raw output (`<%~ %>`) is used only for the rendered body.
    const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, autoTrim: false });
    app.decorateReply('page', function page(statusCode: number, name: string, data: Record<string, unknown> = {}) {
      const html = eta.render(`./${name}`, { ...data, cspNonce: this.request.cspNonce });
      return this.code(statusCode).type('text/html; charset=utf-8').send(html);
    });
  },
  { name: 'webiso-views', fastify: '5.x', dependencies: ['webiso-security-headers'] },
);
