import { Eta } from 'eta';
import fp from 'fastify-plugin';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../ops/package-root.ts';
import { brandingRoutes, loadBranding } from '../branding/branding.ts';
import { themedResolvePath } from '../branding/theme-views.ts';
import { LANGUAGE_COOKIE, negotiateLanguage } from '../i18n/languages.ts';
import { languageRoutes } from '../i18n/routes.ts';
import { pageLocals } from '../i18n/view-locals.ts';

export const VIEWS_DIR = join(PACKAGE_ROOT, 'views');

declare module 'fastify' {
  interface FastifyReply {
    /** Renders views/NAME.eta inside the layout, HTML-escaped by default, with the CSP nonce. */
    page(statusCode: number, name: string, data?: Record<string, unknown>): FastifyReply;
  }
}

export const views = fp(
  async (app) => {
    // autoEscape: `<%= %>` escapes; raw output (`<%~ %>`) is used only for the rendered body.
    // branding: the institution's name, logo, colours and theme directory (src/branding)
    const config = app.webiso.config.branding;
    const branding = loadBranding(config);
    const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, autoTrim: false });
    // a theme's templates first, the shipped ones otherwise (src/branding/theme-views.ts)
    eta.resolvePath = themedResolvePath(VIEWS_DIR, config?.themeDir);
    await app.register(brandingRoutes, { branding });
    // the language: cookie, Accept-Language, English; `it.t` and friends (src/i18n, docs/i18n.md)
    await app.register(languageRoutes);
    app.decorateReply('page', function page(statusCode: number, name: string, data: Record<string, unknown> = {}) {
      const { request } = this;
      const lang = negotiateLanguage(request.headers['accept-language'], request.cookies?.[LANGUAGE_COOKIE]);
      // the switcher comes back to this page; not to a POST's URL, nor to a refused request's (an error page never echoes it)
      const next = request.method === 'GET' && statusCode < 400 ? request.url : '/';
      const html = eta.render(`./${name}`, pageLocals(lang, next, data, { cspNonce: request.cspNonce, branding: branding.view }));
      return this.code(statusCode).type('text/html; charset=utf-8').send(html);
    });
  },
  { name: 'webiso-views', fastify: '5.x', dependencies: ['webiso-security-headers'] },
);
