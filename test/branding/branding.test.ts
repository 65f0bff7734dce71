import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { themedResolvePath } from '../../src/branding/theme-views.ts';
import { VIEWS_DIR } from '../../src/http/views.ts';
import { ADMIN, adminLogin, adminPage } from '../support/machines.ts';
import { CookieJar, createTestApp, HTML, loginQuery, testConfig, type TestApp } from '../support/webiso.ts';

const SVG_LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';

function themeDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-theme-'));
  writeFileSync(join(dir, 'theme.css'), 'body { font-family: Georgia, serif; }\n');
  // a themed start page, inside the shipped layout
  writeFileSync(join(dir, 'home.eta'), "<% layout('./layout', { title: 'Welcome' }) %>\n<h1 id=\"themed-home\">Welcome to <%= it.branding.institution %></h1>\n");
  mkdirSync(join(dir, 'admin'));
  return dir;
}

describe('branding: the institution on every page, a theme directory', () => {
  let t: TestApp;
  let plain: TestApp;
  before(async () => {
    const dir = themeDirectory();
    writeFileSync(join(dir, 'logo.svg'), SVG_LOGO);
    const config = testConfig({
      branding: {
        institution: 'Universidad de Ejemplo',
        logoFile: join(dir, 'logo.svg'),
        colors: { accent: '#7a0019' },
        support: { text: 'Help desk:', email: 'help@example.edu', url: 'https://help.example.edu/login' },
        footer: '© Universidad de Ejemplo',
        themeDir: dir,
      },
    });
    t = await createTestApp({ config, users: [{ name: 'alice', password: 'correct horse battery staple' }, { name: ADMIN.name, password: ADMIN.password, roles: ['admin'] }] });
    plain = await createTestApp();
  });
  after(async () => {
    await t?.close();
    await plain?.close();
  });

  it('the login page names the institution and the app asking', async () => {
    const page = await t.app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: HTML });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<p id="login-institution"><strong>Example App<\/strong> asks you to log in with your <strong>Universidad de Ejemplo<\/strong> account\.<\/p>/);
    assert.match(page.body, /<header class="brand" id="brand"><img src="\/branding\/logo" alt=""><span id="brand-name">Universidad de Ejemplo<\/span><\/header>/);
    assert.match(page.body, /<p id="brand-support">Help desk: <a href="mailto:help@example\.edu">help@example\.edu<\/a> <a href="https:\/\/help\.example\.edu\/login">/);
    assert.match(page.body, /<p>© Universidad de Ejemplo<\/p>/);
    assert.match(page.body, /:root \{ --link: #7a0019; \}/);
    const nonce = /<style nonce="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(nonce);
    assert.ok(page.body.includes(`<link rel="stylesheet" href="/branding/theme.css" nonce="${nonce}">`), 'the theme stylesheet carries the CSP nonce');
    assert.match(String(page.headers['content-security-policy']), new RegExp(`style-src 'nonce-${nonce.replace(/[+/=]/g, (c) => `\\${c}`)}'`));
  });

  it('every admin page carries the branding too', async () => {
    const jar = new CookieJar();
    assert.match((await adminPage(t.app, jar, '/admin/login')).body, /id="brand-name">Universidad de Ejemplo</);
    await adminLogin(t.app, jar);
    for (const path of ['/admin', '/admin/machines', '/admin/history', '/admin/users']) {
      assert.match((await adminPage(t.app, jar, path)).body, /id="brand-name">Universidad de Ejemplo<[\s\S]*id="brand-footer"/, path);
    }
  });

  it('serves the logo and the theme stylesheet from the same origin', async () => {
    const logo = await t.app.inject({ method: 'GET', url: '/branding/logo' });
    assert.equal(logo.statusCode, 200);
    assert.equal(logo.headers['content-type'], 'image/svg+xml');
    assert.equal(logo.body, SVG_LOGO);
    const css = await t.app.inject({ method: 'GET', url: '/branding/theme.css' });
    assert.equal(css.statusCode, 200);
    assert.match(String(css.headers['content-type']), /^text\/css/);
    assert.equal((await plain.app.inject({ method: 'GET', url: '/branding/logo' })).statusCode, 404, 'no logo configured: no route');
  });

  it("a theme's template replaces the shipped one; the others and the layout stay", async () => {
    const home = await t.app.inject({ method: 'GET', url: '/', headers: HTML });
    assert.match(home.body, /<h1 id="themed-home">Welcome to Universidad de Ejemplo<\/h1>/);
    assert.match(home.body, /<style nonce="/, 'the shipped layout, with its nonce');
    const shipped = await plain.app.inject({ method: 'GET', url: '/', headers: HTML });
    assert.doesNotMatch(shipped.body, /themed-home/);
    assert.match(shipped.body, /id="brand-name">webiso</, 'the default names webiso');
    assert.doesNotMatch(shipped.body, /id="brand-footer"/);
  });

  it('the theme lookup never leaves the two directories', () => {
    const dir = themeDirectory();
    const resolve = themedResolvePath(VIEWS_DIR, dir);
    assert.equal(resolve('./home'), join(dir, 'home.eta'));
    assert.equal(resolve('./login'), join(VIEWS_DIR, 'login.eta'));
    assert.equal(resolve('./_head', { filepath: join(VIEWS_DIR, 'admin', 'machines.eta') }), join(VIEWS_DIR, 'admin', '_head.eta'));
    assert.equal(resolve('../layout', { filepath: join(dir, 'admin', 'x.eta') }), join(VIEWS_DIR, 'layout.eta'), 'a themed admin page reaches the shipped layout');
    assert.throws(() => resolve('../../../etc/passwd'), /outside the views/);
    assert.throws(() => resolve('./x', { filepath: '/etc/passwd' }), /outside the views/);
  });

  it('refuses colours below WCAG AA contrast and an unknown setting at start-up', () => {
    assert.throws(() => testConfig({ branding: { institution: 'X', colors: { accent: '#ffcc00' } } }), /accent[\s\S]*4\.5:1/);
    assert.throws(() => testConfig({ branding: { institution: 'X', colour: 'red' } }), /colour|unrecognized/i);
    assert.throws(() => testConfig({ branding: { institution: 'X', logoFile: '/tmp/logo.gif' } }), /png, \.jpg or \.svg/);
  });
});
