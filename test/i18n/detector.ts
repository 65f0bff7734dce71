import { CATALOGS, type MessageKey } from '../../src/i18n/messages/index.ts';

/**
 * The untranslated-literal detector's list (docs/i18n.md): every fragment of an English catalog
 * value (split at markup and `{parameters}`) of three words or more that the Spanish value of the
 * same key does not contain (a command in <code> stays the same in every language).
 */
export const ENGLISH_PHRASES: readonly string[] = (Object.entries(CATALOGS.en) as [MessageKey, string][]).flatMap(([key, text]) =>
  text
    .replace(/<[^>]*>/g, '\u0000')
    .split(/\{\w+\}|\u0000/)
    .map((part) => part.trim())
    .filter((part) => part.split(/\s+/).length >= 3 && !CATALOGS.es[key].includes(part)),
);

/** A page's text as a person reads it: no tags, scripts, styles or (with `withoutCharts`) SVG charts. */
export function visibleText(html: string, withoutCharts = false): string {
  return html
    .replace(withoutCharts ? /<(script|style|svg)\b[\s\S]*?<\/\1>/gi : /<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

/** The English phrases a page shows. */
export function englishIn(html: string, withoutCharts = false): string[] {
  const text = visibleText(html, withoutCharts);
  return ENGLISH_PHRASES.filter((phrase) => text.includes(phrase));
}
