import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromAcceptLanguage, LANGUAGE_COOKIE, negotiateLanguage } from '../../src/i18n/languages.ts';
import { localNext } from '../../src/i18n/routes.ts';
import { formatNumber, formatRelative, formatTime } from '../../src/time-format.ts';
import { translator } from '../../src/i18n/translate.ts';
import { CookieJar, createTestApp, HTML, loginQuery, setCookieLines, type TestApp } from '../support/webiso.ts';

const DAY = 86_400;

describe('Accept-Language negotiation', () => {
  it('takes the supported language with the highest q-value', () => {
    assert.equal(fromAcceptLanguage('es'), 'es');
    assert.equal(fromAcceptLanguage('es-MX,es;q=0.9,en;q=0.8'), 'es');
    assert.equal(fromAcceptLanguage('en;q=0.5, es;q=0.8'), 'es');
    assert.equal(fromAcceptLanguage('es;q=0.5, en;q=0.8'), 'en');
    assert.equal(fromAcceptLanguage('fr-FR, fr;q=0.9, es;q=0.4'), 'es', 'an unsupported first choice is skipped');
    assert.equal(fromAcceptLanguage('EN-gb'), 'en', 'case-insensitive, regions ignored');
    assert.equal(fromAcceptLanguage('es;q=0.8, en;q=0.8'), 'es', 'a tie goes to the earlier one');
  });

  it('falls back to English for unsupported, refused, malformed or missing headers', () => {
    assert.equal(fromAcceptLanguage('fr, de;q=0.5'), undefined);
    assert.equal(negotiateLanguage('fr, de;q=0.5', undefined), 'en');
    assert.equal(negotiateLanguage('es;q=0', undefined), 'en', 'q=0 means not acceptable');
    assert.equal(negotiateLanguage('es;q=abc', undefined), 'en');
    assert.equal(negotiateLanguage('*', undefined), 'en');
    assert.equal(negotiateLanguage(undefined, undefined), 'en');
    assert.equal(negotiateLanguage(',,;;q=', undefined), 'en');
  });

  it('the cookie wins over the header; an unknown cookie value is ignored', () => {
    assert.equal(negotiateLanguage('en', 'es'), 'es');
    assert.equal(negotiateLanguage('es', 'en'), 'en');
    assert.equal(negotiateLanguage('es', 'xx'), 'es');
  });
});

describe('dates and numbers for the language', () => {
  const at = Date.UTC(2026, 11, 6, 7, 59, 59) / 1000;
  it('English keeps the one format; Spanish is Intl in UTC', () => {
    assert.equal(formatTime(at), '2026-12-06 07:59 UTC');
    assert.equal(formatTime(at, '—', 'en'), '2026-12-06 07:59 UTC');
    assert.equal(formatTime(at, '—', 'es'), '6 dic 2026, 7:59 UTC');
    assert.equal(formatTime(null, '—', 'es'), '—');
    assert.equal(translator('es').date('2026-12-06 07:59 UTC'), '6 dic 2026, 7:59 UTC', 'a time a route formatted in English');
    assert.equal(translator('es').date(at), '6 dic 2026, 7:59 UTC');
    assert.equal(translator('en').date('2026-12-06 07:59 UTC'), '2026-12-06 07:59 UTC');
  });
  it('relative times and numbers', () => {
    assert.equal(formatRelative(at + 5 * DAY, at, 'es'), 'dentro de 5 días');
    assert.equal(formatRelative(at - 3600, at, 'es'), 'hace 1 hora');
    assert.equal(formatRelative(at + 30, at, 'es'), 'en menos de un minuto');
    assert.equal(formatRelative(at + 5 * DAY, at), 'in 5 days', 'English unchanged');
    assert.equal(formatNumber(12345.5, 'es'), '12.345,5');
    assert.equal(formatNumber(12345.5), '12,345.5');
  });
});

describe('the language switcher', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t?.close());

  it('only ever sends the browser back to a local path', () => {
    assert.equal(localNext('/login?appid=app&x=1'), '/login?appid=app&x=1');
    for (const hostile of ['https://evil.example', '//evil.example/x', '/\\evil.example', '\\\\evil', 'evil', '/x\r\nLocation: https://evil', '', undefined, 42, ['/a'], `/${'a'.repeat(3000)}`]) {
      assert.equal(localNext(hostile), '/', String(hostile));
    }
  });

  it('every page offers it; choosing Spanish sets the cookie and the next page is in Spanish', async () => {
    const jar = new CookieJar();
    const url = `/login?${loginQuery()}`;
    const english = await t.app.inject({ method: 'GET', url, headers: { ...HTML, 'accept-language': 'en' } });
    assert.match(english.body, /<html lang="en">/);
    const link = /<a href="([^"]+)" lang="es"/.exec(english.body)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(link, 'a link to Spanish');
    assert.equal(new URL(link, 'https://x').searchParams.get('next'), url, 'back to this page');

    const switched = await t.app.inject({ method: 'GET', url: link, headers: { ...HTML, 'accept-language': 'en' } });
    assert.equal(switched.statusCode, 303);
    assert.equal(switched.headers.location, url);
    const line = setCookieLines(switched).find((cookie) => cookie.startsWith(`${LANGUAGE_COOKIE}=es`));
    assert.ok(line && /Path=\//.test(line) && /Secure/.test(line) && /HttpOnly/.test(line) && /SameSite=Lax/.test(line) && !/Domain/i.test(line), line);
    jar.store(switched);

    const next = await t.app.inject({ method: 'GET', url, headers: { ...HTML, 'accept-language': 'en', ...jar.header() } });
    assert.match(next.body, /<html lang="es">/);
    assert.match(next.body, /Iniciar sesión en/);
    assert.match(next.body, /<span lang="es" aria-current="true">Español<\/span>/);
    assert.match(next.body, /<a href="[^"]+" lang="en" hreflang="en" data-lang="en">English<\/a>/);
  });

  it('refuses to redirect elsewhere and ignores an unknown language', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/language?lang=xx&next=${encodeURIComponent('https://evil.example/')}` });
    assert.equal(response.statusCode, 303);
    assert.equal(response.headers.location, '/');
    assert.ok(!setCookieLines(response).some((line) => line.startsWith(LANGUAGE_COOKIE)));
  });

  it('an error page does not echo the refused URL into the switcher', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/login?appid=nope&return=https%3A%2F%2Fevil.example%2F', headers: { ...HTML, 'accept-language': 'es' } });
    assert.equal(response.statusCode, 400);
    assert.doesNotMatch(response.body, /evil/);
    assert.match(response.body, /href="\/language\?lang=en&amp;next=%2F"/);
  });
});
