import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LANGUAGE_COOKIE } from '../../src/i18n/languages.ts';
import { CookieJar } from '../support/webiso.ts';
import { englishIn } from './detector.ts';
import { addMachine, adminLogin, adminPage, adminPost, createMachineTestApp, KIOSK, mintInBrowser, requestLogin, type MachineTestApp } from '../support/machines.ts';

describe('the admin pages in Spanish', () => {
  let t: MachineTestApp;
  const jar = new CookieJar();
  before(async () => {
    t = await createMachineTestApp();
    await mintInBrowser(t.app, new CookieJar(), KIOSK, '30');
    await requestLogin(t.app, new CookieJar(), {}, { remoteAddress: '203.0.113.9' });
    jar.cookies.set(LANGUAGE_COOKIE, 'es');
    await adminLogin(t.app, jar);
    await addMachine(t.app, jar, 'kiosk2.kiosk.example.edu');
  });
  after(async () => t?.close());

  const pages = [
    '/admin', '/admin/machines', `/admin/machines/${KIOSK}`, `/admin/machines/${KIOSK}?days=7&by=network`, '/admin/history', '/admin/expiring?days=90',
    '/admin/alerts?all=1', '/admin/enrollments', '/admin/users', '/admin/users/alice',
  ];
  for (const path of pages) {
    it(path, async () => {
      const response = await adminPage(t.app, jar, path);
      assert.equal(response.statusCode, 200, path);
      assert.match(response.body, /<html lang="es">/);
      assert.match(response.body, /id="nav-machines">Máquinas</);
      // the charts and the timeline included: their SVG text is read too (docs/i18n.md)
      assert.deepEqual(englishIn(response.body), [], `${path} shows English`);
    });
  }

  it('the charts, the timeline and the code labels are Spanish; codes stay in data attributes', async () => {
    const dashboard = (await adminPage(t.app, jar, '/admin')).body;
    assert.match(dashboard, /<title id="chart-status-title">Máquinas por estado<\/title>/);
    assert.match(dashboard, /<title id="chart-logins-title">Inicios de sesión con contraseña por hora/);
    assert.match(dashboard, /data-series="logins"><rect [^>]*\/><text [^>]*>correctos<\/text>/);
    assert.match(dashboard, /<desc id="chart-logins-desc">De [^<]+ a [^<]+: correctos \d+, fallidos \d+<\/desc>/);
    assert.match(dashboard, />máx\. \d+</);
    const machine = (await adminPage(t.app, jar, `/admin/machines/${KIOSK}`)).body;
    assert.match(machine, /<title id="timeline-title">Dónde se ha visto, por dirección<\/title>/);
    assert.match(machine, /data-series="Accepted"><rect [^>]*\/><text [^>]*>Aceptadas<\/text>/);
    assert.match(machine, /class="chart-label">Alertas<\/text>/);
    assert.match(machine, /<desc id="timeline-desc">De [^<]+\. Alertas: \d+\.<\/desc>/);
    assert.match(machine, /<tr data-action="mint"><td>[^<]*<\/td><td data-field="action">emisión<\/td>/);
    assert.match(machine, /data-field="expires-in">dentro de \d+ días</);
    const history = (await adminPage(t.app, jar, '/admin/history')).body;
    assert.match(history, /<option value="mints">emisiones<\/option>/);
    assert.match(history, /data-action="add"[^>]*>[\s\S]*?<td data-field="action">registro<\/td>/);
    const expiring = (await adminPage(t.app, jar, '/admin/expiring?days=90')).body;
    assert.doesNotMatch(expiring, /\bin \d+ days\b/);
  });

  it('a form error beside its field, and a done notice', async () => {
    const page = `/admin/machines/${KIOSK}`;
    const details = await adminPost(t.app, jar, `${page}/details`, { location: 'Sala', networks: '10.2.0.0/16\nlibrary', entitlements: 'a' }, page);
    assert.equal(details.statusCode, 400);
    assert.match(details.body, /id="details-networks-error" role="alert" data-error-code="invalid_machine_input">«library» no es una red en notación CIDR/);
    assert.deepEqual(englishIn(details.body), [], 'the form error page shows English');
    const add = await addMachine(t.app, jar, 'bad_name.kiosk.example.edu');
    assert.match(add.body, /id="add-fqdn-error" role="alert" data-error-code="invalid_machine_input">Nombre de máquina no válido: cada parte entre puntos/);
    assert.deepEqual(englishIn(add.body), [], 'the register form error shows English');
    const saved = await adminPost(t.app, jar, `${page}/details`, { location: 'Sala', networks: '', entitlements: '' }, page);
    assert.equal(saved.statusCode, 303);
    const notice = (await adminPage(t.app, jar, String(saved.headers.location))).body;
    assert.match(notice, /id="done">Se han guardado los datos\./);
    assert.deepEqual(englishIn(notice), [], 'the done notice shows English');
  });

  it('an enrollment link and the bulk confirmation', async () => {
    const link = await adminPost(t.app, jar, '/admin/machines/kiosk2.kiosk.example.edu/enroll', { days: '30' }, '/admin/machines/kiosk2.kiosk.example.edu');
    const bulk = await adminPost(t.app, jar, '/admin/bulk', { action: 'suspend', fqdn: KIOSK, reason: 'x' }, '/admin/machines');
    for (const [name, response] of [['enrollment link', link], ['bulk confirm', bulk]] as const) {
      assert.match(response.body, /<html lang="es">/, name);
      assert.deepEqual(englishIn(response.body), [], `${name} shows English`);
    }
    assert.match(link.body, /Enlace de alta para kiosk2/);
    assert.match(bulk.body, /Sí, suspender estas 1 máquinas/);
  });
});
