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
  const tr: Translator = translator(lang);
  const i18n = { lang, t: tr.t, th: tr.th, tr: tr.tr, errorText: tr.errorText, date: tr.date, relative: tr.relative, num: tr.num, label: tr.label };
  const languages: LanguageLink[] = LANGUAGES.map((code) => ({
    code,
    name: LANGUAGE_NAMES[code],
    href: `/language?lang=${code}&next=${encodeURIComponent(next)}`,
    current: code === lang,
  }));
  return { ...i18n, i18n, languages };
}
