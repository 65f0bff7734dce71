import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VIEWS_DIR } from '../../src/http/views.ts';
import { LANGUAGES } from '../../src/i18n/languages.ts';
import { CATALOGS } from '../../src/i18n/messages/index.ts';
import { translator } from '../../src/i18n/translate.ts';
import { untranslatedText } from './scanner.ts';

const params = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const tags = (text: string) => [...text.matchAll(/<\/?[a-z]+(?: id="[^"]*")?/g)].map((m) => m[0]);

function templates(dir = VIEWS_DIR, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? templates(join(dir, entry.name), `${prefix}${entry.name}/`) : entry.name.endsWith('.eta') ? [`${prefix}${entry.name}`] : [],
  );
}

describe('message catalogs', () => {
  const english = CATALOGS.en;
  it('every language has exactly the English keys, none empty', () => {
    for (const lang of LANGUAGES) {
      const catalog = CATALOGS[lang];
      assert.deepEqual(Object.keys(catalog).sort(), Object.keys(english).sort(), `${lang}: the same keys as en`);
      for (const [key, text] of Object.entries(catalog)) assert.ok(text.trim().length > 0, `${lang} ${key} is empty`);
    }
  });

  it('every translation takes the same parameters and, in Html messages, the same elements and ids', () => {
    for (const lang of LANGUAGES) {
      for (const [key, text] of Object.entries(english)) {
        const translated = CATALOGS[lang][key as keyof typeof english];
        assert.deepEqual(params(translated), params(text), `${lang} ${key}: parameters`);
        if (key.endsWith('Html')) assert.deepEqual(tags(translated).sort(), tags(text).sort(), `${lang} ${key}: markup`);
        else assert.doesNotMatch(translated, /<[a-z/]/, `${lang} ${key}: markup only in …Html keys`);
      }
    }
  });

  it('fills parameters, escapes them in Html messages, and translates English a route passed', () => {
    const es = translator('es');
    assert.equal(es.t('login.heading', { app: 'Biblioteca <b>' }), 'Iniciar sesión en Biblioteca <b>', 'plain: <%= %> escapes it');
    assert.equal(es.th('logout.loggedInAsHtml', { user: '<img src=x>' }), 'Ha iniciado sesión como <strong id="current-user">&lt;img src=x&gt;</strong>.');
    assert.equal(es.tr('Enter your username and your password.'), 'Escriba su usuario y su contraseña.');
    assert.equal(es.tr('Some text no catalog knows'), 'Some text no catalog knows');
    assert.equal(es.errorText('csrf_invalid', 'The form expired (specific).'), CATALOGS.es['error.csrf_invalid']);
    assert.equal(es.errorText('no_such_code', 'x'), CATALOGS.es['error.generic']);
    assert.equal(translator('en').errorText('csrf_invalid', 'The form expired (specific).'), 'The form expired (specific).', 'English keeps the specific text');
  });
});

describe('templates hold no bare text (the scanner rules are in scanner.ts and docs/i18n.md)', () => {
  for (const name of templates()) {
    it(name, () => {
      assert.deepEqual(untranslatedText(readFileSync(join(VIEWS_DIR, name), 'utf8')), [], `${name}: text outside it.t(...)`);
    });
  }

  it('the scanner finds text, attributes, code strings and script strings', () => {
    assert.deepEqual(untranslatedText('<p>Hello there</p>'), ['Hello there']);
    assert.deepEqual(untranslatedText('<img alt="A logo" src="x">'), ['alt="A logo"']);
    assert.deepEqual(untranslatedText("<%= it.ok ? 'Confirm' : it.t('login.submit') %>"), ["'Confirm'"]);
    assert.deepEqual(untranslatedText("<script nonce=\"x\">label.textContent = 'logged out';</script>"), ["'logged out'"]);
    assert.deepEqual(untranslatedText("<p><%= it.t('a.b') %>: <code>·</code> …</p><% layout('./layout', { title: it.t('x.y') }) %>"), []);
  });
});
