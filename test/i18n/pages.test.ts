import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { LANGUAGE_COOKIE } from '../../src/i18n/languages.ts';
import { ENGLISH_PHRASES, englishIn, visibleText } from './detector.ts';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import { ALICE_PASSWORD, attemptLogin, CookieJar, createTestApp, fakeClock, grantOf, hiddenField, HTML, loginQuery, testConfig, type TestApp } from '../support/webiso.ts';
import { ADMIN, ALICE, adminLogin, adminPage, createMachineTestApp, formCsrf, FORM, KIOSK, mintInBrowser, requestLogin, type MachineTestApp } from '../support/machines.ts';
import { casConfig, casLogin, CAS_USERS, SERVICE, validate } from '../support/cas.ts';

const ES = { ...HTML, 'accept-language': 'es-ES,es;q=0.9,en;q=0.4' };

/** The untranslated-literal detector: a Spanish page shows no English catalog phrase. */
function assertSpanish(response: LightMyRequestResponse, page: string) {
  assert.match(response.body, /<html lang="es">/, page);
  assert.deepEqual(englishIn(response.body), [], `${page} shows English`);
}

function spanishJar(): CookieJar {
  const jar = new CookieJar();
  jar.cookies.set(LANGUAGE_COOKIE, 'es');
  return jar;
}

describe('every patron page in Spanish', () => {
  let t: MachineTestApp;
  before(async () => {
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('the detector is not vacuous: the English login page shows the phrases it looks for', async () => {
    assert.ok(ENGLISH_PHRASES.length > 60, String(ENGLISH_PHRASES.length));
    const english = await t.app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: { ...HTML, 'accept-language': 'en' } });
    const shown = ENGLISH_PHRASES.filter((phrase) => visibleText(english.body).includes(phrase));
    assert.ok(shown.length >= 3, shown.join(' | '));
  });

  it('login form, failed login, post-to-app, home and logout', async () => {
    const form = await t.app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: ES });
    assertSpanish(form, 'login');
    assert.match(form.body, /<button type="submit" id="login-submit">Iniciar sesión<\/button>/);
    const forced = await t.app.inject({ method: 'GET', url: `/login?${loginQuery({ force: '1' })}`, headers: ES });
    assertSpanish(forced, 'login (force)');

    const failed = await attemptLogin(t.app, { username: 'alice', password: 'wrong', jar: spanishJar() });
    assert.equal(failed.response.statusCode, 401);
    assertSpanish(failed.response, 'failed login');
    assert.match(failed.response.body, /id="login-error">El usuario y la contraseña no coinciden/);

    const { response: posted, jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD, jar: spanishJar() });
    assert.ok(grantOf(posted.body));
    assertSpanish(posted, 'post-to-app');

    const home = await t.app.inject({ method: 'GET', url: '/', headers: { ...HTML, ...jar.header() } });
    assertSpanish(home, 'home (logged in)');
    assert.match(home.body, /Ha iniciado sesión como <strong id="current-user">alice<\/strong> desde el \d+ [a-z]+ 20\d\d, \d+:\d\d UTC/);
    assertSpanish(await t.app.inject({ method: 'GET', url: '/', headers: ES }), 'home (logged out)');

    const logout = await t.app.inject({ method: 'GET', url: '/logout', headers: { ...HTML, ...jar.header() } });
    assertSpanish(logout, 'logout');
    assertSpanish(await t.app.inject({ method: 'GET', url: '/logout', headers: ES }), 'logout (no session)');
    const done = await t.app.inject({ method: 'POST', url: '/logout', headers: { ...HTML, ...jar.header(), ...FORM }, payload: new URLSearchParams({ csrf: hiddenField(logout.body, 'csrf') ?? '' }).toString() });
    assert.equal(done.statusCode, 200);
    assertSpanish(done, 'logged out');
  });

  it('error pages: chrome and the description by code; JSON bodies stay English', async () => {
    const missing = await t.app.inject({ method: 'GET', url: '/no-such-page', headers: ES });
    assert.equal(missing.statusCode, 404);
    assertSpanish(missing, 'error 404');
    assert.match(missing.body, /id="error-description">No hay ninguna página en esta dirección\./);
    assert.match(missing.body, /<code id="error-code">not_found<\/code>/, 'the code itself never changes');
    const unknown = await t.app.inject({ method: 'GET', url: `/login?${loginQuery({ appid: 'nope' })}`, headers: ES });
    assertSpanish(unknown, 'error unknown app');

    const json = (lang: string) => t.app.inject({ method: 'GET', url: `/login?${loginQuery({ appid: 'nope' })}`, headers: { accept: 'application/json', 'accept-language': lang } });
    const [en, es] = await Promise.all([json('en'), json('es')]);
    const { request_id: _a, ...enBody } = en.json() as Record<string, unknown>;
    const { request_id: _b, ...esBody } = es.json() as Record<string, unknown>;
    assert.deepEqual(esBody, enBody);
  });

  it('kiosk pages: banner, enrollment, enrolled, session ended; admin login, not-admin and minted', async () => {
    const adminJar = spanishJar();
    assertSpanish(await adminPage(t.app, adminJar, '/admin/login'), 'admin login');
    await adminLogin(t.app, adminJar, ADMIN);
    const kiosk = spanishJar();
    await adminLogin(t.app, kiosk, ADMIN);
    const minted = await mintInBrowser(t.app, kiosk, KIOSK, '30');
    assert.ok(kiosk.cookies.has(MACHINE_COOKIE));
    assertSpanish(minted, 'admin minted');

    const banner = await requestLogin(t.app, kiosk, { flavor: 'basic' });
    assert.match(banner.response.body, /id="kiosk-banner"/);
    assertSpanish(banner.response, 'login with the kiosk banner');
    const ended = await t.app.inject({ method: 'POST', url: '/logout', headers: { ...HTML, ...kiosk.header(), ...FORM }, payload: new URLSearchParams({ csrf: formCsrf(banner.response.body, '/logout') ?? '' }).toString() });
    assert.match(ended.body, /id="kiosk-session-ended"/);
    assertSpanish(ended, 'kiosk session ended');

    const enrollment = await t.app.webiso.machines.operations.createEnrollment(KIOSK, 60, { name: 'cli:ops' });
    const path = new URL(enrollment.url).pathname;
    const browser = spanishJar();
    const page = await t.app.inject({ method: 'GET', url: path, headers: { ...HTML, ...browser.header() } });
    browser.store(page);
    assertSpanish(page, 'kiosk enroll');
    const enrolled = await t.app.inject({ method: 'POST', url: path, headers: { ...HTML, ...browser.header(), ...FORM }, payload: new URLSearchParams({ csrf: hiddenField(page.body, 'csrf') ?? '' }).toString() });
    assert.match(enrolled.body, /id="kiosk-enrolled"/);
    assertSpanish(enrolled, 'kiosk enrolled');
    assert.match(enrolled.body, /válida hasta el \d+ [a-z]+ 20\d\d, \d+:\d\d UTC/);

    const alice = spanishJar();
    await adminLogin(t.app, alice, ALICE);
    const notAdmin = await adminPage(t.app, alice, '/admin');
    assert.match(notAdmin.body, /id="not-admin"/);
    assertSpanish(notAdmin, 'not admin');
  });
});

describe('pages that need their own set-up, in Spanish', () => {
  it('unavailable and the redirect-loop page', async () => {
    const t = await createTestApp({ verifier: { kind: 'local', verify: async () => ({ ok: false, reason: 'unavailable', detail: 'down' }) } });
    try {
      const down = await attemptLogin(t.app, { username: 'alice', password: 'x', jar: spanishJar() });
      assert.equal(down.response.statusCode, 503);
      assertSpanish(down.response, 'unavailable');
    } finally {
      await t.close();
    }
    const clock = fakeClock();
    const u = await createTestApp({ config: testConfig(), now: clock.now });
    try {
      const { jar } = await attemptLogin(u.app, { username: 'alice', password: ALICE_PASSWORD, jar: spanishJar() });
      const ask = () => u.app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: { ...HTML, ...jar.header() } });
      for (let i = 0; i < 10; i++) await ask();
      const stopped = await ask();
      assert.equal(stopped.statusCode, 429);
      assertSpanish(stopped, 'redirect loop');
    } finally {
      await u.close();
    }
  });
});

describe('grants and CAS answers never change with the language', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ config: casConfig(), users: CAS_USERS, now: fakeClock().now });
  });
  after(async () => t?.close());

  it('the same grant claims', async () => {
    const g = await createTestApp({ config: testConfig(), now: fakeClock().now });
    after(async () => g.close());
    const claims = async (jar: CookieJar) => {
      const { response } = await attemptLogin(g.app, { username: 'alice', password: ALICE_PASSWORD, jar });
      const { jti: _j, sid: _s, ...rest } = decodeJwt(grantOf(response.body) ?? '') as Record<string, unknown>;
      return rest;
    };
    assert.deepEqual(await claims(spanishJar()), await claims(new CookieJar()));
  });

  it('the same CAS XML and JSON', async () => {
    const answer = async (jar: CookieJar, format?: string) => {
      const { ticket } = await casLogin(t.app, { service: SERVICE, jar });
      const response = await validate(t.app, '/cas/p3/serviceValidate', { service: SERVICE, ticket: ticket ?? '', ...(format ? { format } : {}) });
      return response.body;
    };
    assert.equal(await answer(spanishJar()), await answer(new CookieJar()));
    assert.equal(await answer(spanishJar(), 'JSON'), await answer(new CookieJar(), 'JSON'));
  });
});
