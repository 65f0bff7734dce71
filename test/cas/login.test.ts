import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LOOK_ALIKE_URLS, REGISTERED } from '../support/return-url-corpus.ts';
import { CAS_USERS, casConfig, casGet, casLogin, KIOSK, KIOSK_SERVICE, loginUrl, parseCasXml, SERVICE, ticketOf, validate } from '../support/cas.ts';
import { jarWithMachineCookie, mintInBrowser } from '../support/machines.ts';
import { auditEvents, CookieJar, createTestApp, hiddenField, HTML, type TestApp } from '../support/webiso.ts';

/** /cas/login through app.inject: the login engine answering in CAS (302 with a ticket, gateway, renew, POST). */
describe('CAS /cas/login', () => {
  let t: TestApp;
  let machineCookie: string;
  before(async () => {
    t = await createTestApp({ config: casConfig(), users: CAS_USERS });
    const adminJar = new CookieJar();
    await mintInBrowser(t.app, adminJar, KIOSK, '30', { entitlements: 'library-walk-in', location: 'Main library' });
    machineCookie = adminJar.cookies.get('__Host-webiso_machine') ?? '';
    assert.ok(machineCookie, 'minted a machine cookie');
  });
  after(() => t.close());

  it('shows the login form posting back to /cas/login, then 302s to the exact service with a ticket appended', async () => {
    const { first, response, ticket } = await casLogin(t.app);
    assert.equal(first.statusCode, 200);
    assert.match(first.body, /<form method="post" action="\/cas\/login"/);
    assert.equal(response.statusCode, 302);
    assert.ok(String(response.headers.location).startsWith(`${SERVICE}&ticket=ST-`), String(response.headers.location));
    assert.match(ticket ?? '', /^ST-[A-Za-z0-9-]+$/);
    assert.ok((ticket ?? '').length >= 3 + 32 && (ticket ?? '').length <= 256);
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  it('a service without a query gets ?ticket=, and tickets never repeat', async () => {
    const service = 'https://cas.example.edu/secure/';
    const seen = new Set<string>();
    const jar = (await casLogin(t.app, { service })).jar;
    // within the redirect-loop breaker's 10 silent answers per session and app
    for (let i = 0; i < 10; i++) {
      const response = await casGet(t.app, jar, loginUrl(service));
      assert.ok(String(response.headers.location).startsWith(`${service}?ticket=ST-`));
      seen.add(ticketOf(response)!);
    }
    assert.equal(seen.size, 10);
  });

  it('with an SSO session there is no prompt, and the ticket says isFromNewLogin=false', async () => {
    const { jar } = await casLogin(t.app);
    const again = await casGet(t.app, jar, loginUrl(SERVICE));
    assert.equal(again.statusCode, 302);
    const xml = parseCasXml((await validate(t.app, '/cas/serviceValidate', { service: SERVICE, ticket: ticketOf(again)! })).body);
    assert.equal(xml.user, 'alice');
    assert.deepEqual(xml.attributes.get('isFromNewLogin'), ['false']);
  });

  it('gateway=true without a session goes back to the service with no ticket; with a session it is silent SSO', async () => {
    const none = await casGet(t.app, new CookieJar(), loginUrl(SERVICE, { gateway: 'true' }));
    assert.equal(none.statusCode, 302);
    assert.equal(none.headers.location, SERVICE);
    const { jar } = await casLogin(t.app);
    const sso = await casGet(t.app, jar, loginUrl(SERVICE, { gateway: 'true' }));
    assert.ok(ticketOf(sso));
  });

  it('renew=true asks for the password despite the session, and the ticket then says isFromNewLogin=true', async () => {
    const { jar } = await casLogin(t.app);
    const renewed = await casLogin(t.app, { jar, extra: { renew: 'true' } });
    assert.equal(renewed.prompted, true);
    assert.match(renewed.first.body, /enter your password again/);
    const xml = parseCasXml((await validate(t.app, '/cas/p3/serviceValidate', { service: SERVICE, ticket: renewed.ticket!, renew: 'true' })).body);
    assert.deepEqual(xml.attributes.get('isFromNewLogin'), ['true']);
  });

  it('renew wins over gateway (CAS leaves the pair undefined)', async () => {
    const { jar } = await casLogin(t.app);
    const both = await casGet(t.app, jar, loginUrl(SERVICE, { renew: 'true', gateway: 'true' }));
    assert.equal(both.statusCode, 200);
    assert.ok(hiddenField(both.body, 'ctx'), 'the password form');
  });

  it('method=POST answers with an auto-posting form to the service (CSP allows that origin), not a 302', async () => {
    const { jar } = await casLogin(t.app);
    const response = await casGet(t.app, jar, loginUrl(SERVICE, { method: 'POST' }));
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /<form method="post" action="https:\/\/cas\.example\.edu\/secure\/page\.php\?x=1" id="post-to-app">/);
    assert.match(hiddenField(response.body, 'ticket') ?? '', /^ST-/);
    assert.match(String(response.headers['content-security-policy']), /form-action 'self' https:\/\/cas\.example\.edu/);
  });

  it('a kiosk with a machine cookie gets a machine ticket for a machineoruser service, with no prompt', async () => {
    const jar = jarWithMachineCookie(machineCookie);
    const response = await casGet(t.app, jar, loginUrl(KIOSK_SERVICE));
    assert.equal(response.statusCode, 302);
    const xml = parseCasXml((await validate(t.app, '/cas/p3/serviceValidate', { service: KIOSK_SERVICE, ticket: ticketOf(response)! })).body);
    assert.equal(xml.user, `host/${KIOSK}`);
    assert.deepEqual(xml.attributes.get('principalType'), ['machine']);
    assert.deepEqual(xml.attributes.get('machineFqdn'), [KIOSK]);
    assert.deepEqual(xml.attributes.get('machineLocation'), ['Main library']);
    assert.deepEqual(xml.attributes.get('entitlement'), ['library-walk-in']);
    assert.deepEqual(xml.attributes.get('webisoFlavor'), ['machineoruser']);
    assert.equal(xml.attributes.get('roles'), undefined, 'a machine has no roles of a person');
  });

  it('gateway=true on a machineoruser service answers with the machine, never a prompt', async () => {
    const response = await casGet(t.app, jarWithMachineCookie(machineCookie), loginUrl(KIOSK_SERVICE, { gateway: 'true' }));
    assert.equal(response.statusCode, 302);
    const xml = parseCasXml((await validate(t.app, '/cas/p3/serviceValidate', { service: KIOSK_SERVICE, ticket: ticketOf(response)! })).body);
    assert.equal(xml.user, `host/${KIOSK}`);
  });

  it('the same kiosk is prompted on a basic service, and under renew even on the machineoruser service', async () => {
    const basic = await casGet(t.app, jarWithMachineCookie(machineCookie), loginUrl(SERVICE));
    assert.ok(hiddenField(basic.body, 'ctx'), 'basic never accepts a machine');
    const renewed = await casLogin(t.app, { service: KIOSK_SERVICE, jar: jarWithMachineCookie(machineCookie), extra: { renew: 'true' } });
    assert.equal(renewed.prompted, true);
    const xml = parseCasXml((await validate(t.app, '/cas/p3/serviceValidate', { service: KIOSK_SERVICE, ticket: renewed.ticket! })).body);
    assert.equal(xml.user, 'alice');
    assert.deepEqual(xml.attributes.get('principalType'), ['user']);
    assert.deepEqual(xml.attributes.get('roles'), ['library', 'staff']);
  });

  it('an unregistered service gets a readable 400 page and no redirect', async () => {
    const response = await casGet(t.app, new CookieJar(), loginUrl('https://evil.example.org/secure/'));
    assert.equal(response.statusCode, 400);
    assert.equal(response.headers.location, undefined);
    assert.match(response.headers['content-type'] as string, /text\/html/);
    assert.match(response.body, /not registered with webiso/);
    assert.doesNotMatch(response.body, /evil\.example\.org/, 'the page does not link to the unregistered address');
  });

  it('refuses every look-alike of a registered service (the return-URL corpus), with a session too', async () => {
    const { jar } = await casLogin(t.app);
    assert.ok(REGISTERED.length > 0);
    for (const [label, candidate] of LOOK_ALIKE_URLS) {
      const response = await t.app.inject({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(candidate)}`, headers: { ...HTML, ...jar.header() } });
      assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${label}: ${response.statusCode}`);
      assert.equal(response.headers.location, undefined, `${label}: no redirect`);
    }
  });

  it('refuses a repeated, missing, oversized or malformed parameter with a 4xx page, and a password in the URL', async () => {
    const cases: Array<[string, RegExp]> = [
      [`/cas/login?service=${encodeURIComponent(SERVICE)}&service=${encodeURIComponent(SERVICE)}`, /must appear once/],
      ['/cas/login', /names no application/],
      [`/cas/login?service=${encodeURIComponent(`https://cas.example.edu/secure/${'a'.repeat(5000)}`)}`, /too long/],
      [loginUrl(SERVICE, { renew: 'perhaps' }), /renew/],
      [loginUrl(SERVICE, { method: 'HEADER' }), /method/],
      [loginUrl(SERVICE, { password: 'x' }), /never in a URL/],
      [loginUrl(`${SERVICE}\u00e9`), /not registered/],
    ];
    for (const [url, message] of cases) {
      const response = await casGet(t.app, new CookieJar(), url);
      assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${url.slice(0, 80)}: ${response.statusCode}`);
      assert.match(response.body, message);
      assert.equal(response.headers.location, undefined);
    }
  });

  it('ignores unknown parameters (shib-cas-authn sends entityId)', async () => {
    const { jar } = await casLogin(t.app);
    const response = await casGet(t.app, jar, loginUrl(SERVICE, { entityId: 'https://sp.example.org/shibboleth' }));
    assert.ok(ticketOf(response));
  });

  it('a CAS login form cannot be replayed at the native /login, nor the other way round', async () => {
    const jar = new CookieJar();
    const form = await casGet(t.app, jar, loginUrl(SERVICE));
    const fields = { ctx: hiddenField(form.body, 'ctx')!, csrf: hiddenField(form.body, 'csrf')!, username: 'alice', password: 'correct horse battery staple' };
    const response = await t.app.inject({ method: 'POST', url: '/login', headers: { ...HTML, ...jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
    assert.equal(response.statusCode, 400);
    assert.match(response.body, /another kind of login/);
  });

  it('audits cas.ticket.issued with a hash prefix, never the ticket', async () => {
    const { ticket } = await casLogin(t.app);
    const issued = (await auditEvents(t.app)).filter((row) => row.event === 'cas.ticket.issued').at(-1);
    assert.equal(issued?.username, 'alice');
    assert.equal(issued?.app_id, 'portal');
    assert.match(issued?.detail ?? '', /^st#\S{10} kind=user via=password service=https:\/\/cas\.example\.edu\/secure\/page\.php$/);
    assert.ok(!JSON.stringify(await auditEvents(t.app)).includes(ticket!.slice(3)), 'no ticket in auth_events');
  });
});
