/**
 * The languages webiso speaks and how a request picks one: the `__Host-webiso_lang` cookie (set by
 * the language switcher, GET /language) wins, else the best `Accept-Language` match by q-value,
 * else English. Only the pages a person reads change; grants, CAS answers, JSON error bodies,
 * logout tokens and log lines never do (docs/i18n.md).
 */
export const LANGUAGES = ['en', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';
export const LANGUAGE_COOKIE = '__Host-webiso_lang';

/** Each language's name in itself, for the switcher (never translated). */
export const LANGUAGE_NAMES: Readonly<Record<Language, string>> = { en: 'English', es: 'Español' };

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

const MAX_HEADER = 1024;

/** The supported language an `Accept-Language` header prefers most (RFC 9110 §12.5.4), or undefined. */
export function fromAcceptLanguage(header: string | undefined): Language | undefined {
  if (!header) return undefined;
  let best: { lang: Language; q: number; order: number } | undefined;
  header.slice(0, MAX_HEADER).split(',').forEach((part, order) => {
    const [range = '', ...params] = part.trim().split(';');
    const primary = range.trim().toLowerCase().split('-')[0] ?? '';
    const qParam = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0 || q > 1) return;
    // `*` means any language: the default one, at that weight
    const lang = primary === '*' ? DEFAULT_LANGUAGE : primary;
    if (!isLanguage(lang)) return;
    if (!best || q > best.q) best = { lang, q, order };
  });
  return best?.lang;
}

/** The cookie's choice, else the header's, else English. */
export function negotiateLanguage(acceptLanguage: string | undefined, cookie: string | undefined): Language {
  if (isLanguage(cookie)) return cookie;
  return fromAcceptLanguage(acceptLanguage) ?? DEFAULT_LANGUAGE;
}
