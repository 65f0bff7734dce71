import { formatNumber, formatRelative, formatTime } from '../time-format.ts';
import { type Language } from './languages.ts';
import { CATALOGS, type Catalog, type MessageKey } from './messages/index.ts';

export type Params = Readonly<Record<string, string | number | null | undefined>>;

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

function fill(template: string, params: Params | undefined, encode: (value: string) => string): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined || value === null ? whole : encode(String(value));
  });
}

/** English text → its key, so a message a route passes in English (a login error, a title) can be shown translated. */
const KEY_OF_ENGLISH = new Map<string, MessageKey>(
  (Object.entries(CATALOGS.en) as [MessageKey, string][]).filter(([key]) => !key.endsWith('Html')).map(([key, text]) => [text, key]),
);

/** The one format formatTime() gives in English; a route that passes it formatted is re-formatted. */
const ENGLISH_TIME = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d) UTC$/;

export interface Translator {
  readonly lang: Language;
  /** Plain text, parameters filled in; escape it on output (`<%= it.t(...) %>`). */
  t(key: MessageKey, params?: Params): string;
  /** A `…Html` message with its markup, every parameter HTML-escaped; output raw (`<%~ it.th(...) %>`). */
  th(key: MessageKey, params?: Params): string;
  /** Text a route passed in English: its translation when it is a catalog message, else itself. */
  tr(text: string | null | undefined): string;
  /** An error page's description: the thrown English one on English pages, else the code's. */
  errorText(code: string, description: string): string;
  /** A time for a person: unix seconds or formatTime()'s English output, in this language. */
  date(value: number | string | null | undefined, none?: string): string;
  /** How far a unix time lies from now, in this language. */
  relative(target: number, now: number): string;
  num(value: number): string;
  /** A code shown to a person (`action`, `rule`, `outcome`, `kind`): its label, else the code itself. */
  label(kind: 'action' | 'rule' | 'outcome' | 'kind', value: string | null | undefined): string;
}

const translators = new Map<Language, Translator>();

export function translator(lang: Language): Translator {
  const cached = translators.get(lang);
  if (cached) return cached;
  const catalog: Catalog = CATALOGS[lang];
  const text = (key: MessageKey): string => catalog[key] ?? CATALOGS.en[key] ?? key;
  const created: Translator = {
    lang,
    t: (key, params) => fill(text(key), params, (value) => value),
    th: (key, params) => fill(text(key), params, escapeHtml),
    tr: (english) => {
      if (english === null || english === undefined) return '';
      const key = KEY_OF_ENGLISH.get(english);
      return key ? text(key) : english;
    },
    errorText: (code, description) => {
      if (lang === 'en') return description;
      const key = `error.${code}`;
      return key in catalog ? text(key as MessageKey) : text('error.generic');
    },
    date: (value, none = '—') => {
      if (typeof value === 'string') {
        const match = ENGLISH_TIME.exec(value);
        if (!match) return value;
        const [, y, mo, d, h, mi] = match.map(Number) as number[];
        return formatTime(Date.UTC(y!, mo! - 1, d!, h!, mi!) / 1000, none, lang);
      }
      return formatTime(value, none, lang);
    },
    relative: (target, now) => formatRelative(target, now, lang),
    num: (value) => formatNumber(value, lang),
    label: (kind, value) => {
      if (value === null || value === undefined) return '';
      const key = `code.${kind}.${value}`;
      return Object.hasOwn(catalog, key) ? text(key as MessageKey) : value;
    },
  };
  translators.set(lang, created);
  return created;
}
