import type { FastifyRequest } from 'fastify';
import { LANGUAGE_COOKIE, negotiateLanguage, type Language } from './languages.ts';
import { translator, type Translator } from './translate.ts';

/**
 * The language of the page this request gets: the same negotiation reply.page() does
 * (src/http/views.ts), for code that builds page text in TypeScript (src/admin's charts, notices,
 * form errors) before handing it to the template.
 */
export function languageOf(request: FastifyRequest): Language {
  return negotiateLanguage(request.headers['accept-language'], request.cookies?.[LANGUAGE_COOKIE]);
}

export function translatorOf(request: FastifyRequest): Translator {
  return translator(languageOf(request));
}
