/**
 * The "untranslated literal" scanner for .eta templates (docs/i18n.md). A template passes when,
 *  - outside `<% %>` tags, `<script>` and `<style>`, no text but whitespace, punctuation and
 *    HTML entities remains once the tags are removed;
 *  - no `title`, `alt`, `aria-label`, `placeholder` or `label` attribute holds literal letters;
 *  - no string literal in template code (`<% %>`) is words: one with a space between letters, or a
 *    capitalised word (`'Confirm'`); message keys (`'login.title'`) and paths (`'./layout'`) pass;
 *  - no string literal in a `<script>` has a space between letters (scripts take their words
 *    from data- attributes that the template fills with it.t); comments are skipped.
 */
const ETA_TAG = /<%[\s\S]*?%>/g;
const STRING = /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g;
const WORDS = /[A-Za-zÀ-ÿ]\s+[A-Za-zÀ-ÿ]/;
const CAPITALISED = /^[A-Z][a-z]/;

export function untranslatedText(template: string): string[] {
  const found: string[] = [];
  for (const tag of template.match(ETA_TAG) ?? []) {
    for (const literal of tag.match(STRING) ?? []) {
      const inner = literal.slice(1, -1);
      if (WORDS.test(inner) || CAPITALISED.test(inner)) found.push(literal);
    }
  }
  let markup = template.replace(ETA_TAG, '');
  markup = markup.replace(/<script\b[^>]*>([\s\S]*?)<\/script>/gi, (_whole, script: string) => {
    // comments are for developers (a line comment runs to the end of its line)
    const code = script.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
    for (const literal of code.match(STRING) ?? []) if (WORDS.test(literal.slice(1, -1))) found.push(literal);
    return '';
  });
  markup = markup.replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, '').replace(/<!--[\s\S]*?-->/g, '');
  for (const match of markup.matchAll(/\b(title|alt|aria-label|placeholder|label)="([^"]*)"/g)) {
    if (/[A-Za-z]/.test(match[2] ?? '')) found.push(match[0]);
  }
  const text = markup.replace(/<[^>]*>/g, '\n').replace(/&#?\w+;/g, ' ');
  for (const line of text.split('\n')) {
    const rest = line.trim();
    if (/[\p{L}\p{N}]/u.test(rest)) found.push(rest);
  }
  return found;
}
