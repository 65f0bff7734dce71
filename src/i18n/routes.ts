import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isLanguage, LANGUAGE_COOKIE } from './languages.ts';

const YEAR = 365 * 86_400;
const MAX_NEXT = 2048;
const PROBE_ORIGIN = 'https://webiso.invalid';

/**
 * Where the switcher sends the browser back to: a path on this server only. Anything else (an
 * absolute URL, `//host`, a backslash, control characters, something too long) becomes `/`,
 * so /language is never an open redirect.
 */
export function localNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > MAX_NEXT) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, PROBE_ORIGIN);
  } catch {
    return '/';
  }
  if (url.origin !== PROBE_ORIGIN) return '/';
  return `${url.pathname}${url.search}`;
}

/**
 * GET /language?lang=es&next=/path: remembers the choice in `__Host-webiso_lang` and goes back.
 * No CSRF token: the cookie is a display preference, and a forged switch only changes the
 * language the next page is shown in (docs/i18n.md).
 */
export const languageRoutes = fp(
  async (app: FastifyInstance) => {
    app.get('/language', async (request, reply) => {
      const query = (request.query ?? {}) as Record<string, unknown>;
      if (isLanguage(query.lang)) {
        reply.setCookie(LANGUAGE_COOKIE, query.lang, { path: '/', secure: true, httpOnly: true, sameSite: 'lax', maxAge: YEAR });
      }
      return reply.header('Cache-Control', 'no-store').redirect(localNext(query.next), 303);
    });
  },
  { name: 'webiso-language', fastify: '5.x' },
);
