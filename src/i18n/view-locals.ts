import { LANGUAGE_NAMES, LANGUAGES, type Language } from './languages.ts';
import { translator, type Translator } from './translate.ts';

export interface LanguageLink {
  readonly code: Language;
  readonly name: string;
  readonly href: string;
  readonly current: boolean;
}

/**
 * What every template gets (src/http/views.ts): `it.lang` for `<html lang>`, `it.t`/`it.th`/`it.tr`/
 * `it.errorText`/`it.date`/`it.num`/`it.label`, `it.languages` for the switcher, and `it.i18n` (the same
 * helpers) to pass to an include that receives only part of `it`.
 */
export function i18nLocals(lang: Language, next = '/') {
  return { ...helpersOf(lang), languages: languageLinks(lang, next) };
}

type Helpers = ReturnType<typeof createHelpers>;

function createHelpers(lang: Language) {
  const tr: Translator = translator(lang);
  const i18n = { lang, t: tr.t, th: tr.th, tr: tr.tr, errorText: tr.errorText, date: tr.date, relative: tr.relative, num: tr.num, label: tr.label };
  return Object.freeze({ ...i18n, i18n: Object.freeze(i18n) });
}

const helpers = new Map<Language, Helpers>();

function helpersOf(lang: Language): Helpers {
  let found = helpers.get(lang);
  if (!found) helpers.set(lang, (found = createHelpers(lang)));
  return found;
}

function languageLinks(lang: Language, next: string): LanguageLink[] {
  return LANGUAGES.map((code) => ({ code, name: LANGUAGE_NAMES[code], href: `/language?lang=${code}&next=${encodeURIComponent(next)}`, current: code === lang }));
}

/**
 * A page's template data (src/http/views.ts), in one copy: the page's own fields, then the
 * language's helpers (made once per language) over them, so no field hides `it.t`, then the
 * switcher's links. Own properties, not a prototype: Eta spreads `it` into the layout, which
 * would drop inherited ones.
 */
export function pageLocals(lang: Language, next: string, ...fields: ReadonlyArray<Record<string, unknown>>): Record<string, unknown> {
  return Object.assign({}, ...fields, helpersOf(lang), { languages: languageLinks(lang, next) }) as Record<string, unknown>;
}
