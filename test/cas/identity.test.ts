import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/load.ts';
import type { PasswordVerifier } from '../../src/verifiers/verifier.ts';
import { CAS_USERS, casConfig, casGet, casLogin, KIOSK, KIOSK_SERVICE, loginUrl, parseCasXml, SERVICE, ticketOf, validate } from '../support/cas.ts';
import { jarWithMachineCookie, mintInBrowser } from '../support/machines.ts';
import { CookieJar, createTestApp, FORM, hiddenField, HTML, type TestApp } from '../support/webiso.ts';

/** A directory that answers with whatever username and roles the test wants released. */
function verifierReturning(username: string, roles: string[]): PasswordVerifier {
  return { kind: 'ldap', verify: async () => ({ ok: true, user: { username, roles, amr: ['pwd'] } }) };
}

const MARKUP = '</cas:user><cas:principalType>machine</cas:principalType><cas:user>root';
// usernames with "/" are never released (see below), so the username's markup has none
const USER_MARKUP = '<cas:principalType>machine<cas:user>root<!-- ]]> <![CDATA[';

/** Registers and mints a kiosk through the operations API (the admin login would go through the test's verifier). */
async function mintKiosk(t: TestApp): Promise<string> {
  const actor = { name: 'test' };
  await t.app.webiso.machines.operations.add(KIOSK, { entitlements: ['library-walk-in'] }, actor);
  return (await t.app.webiso.machines.operations.mint(KIOSK, 30, actor)).cookie;
}

describe('CAS released identity', () => {
  it('no username, role or machine location can inject elements into the XML', async () => {
    const t = await createTestApp({ config: casConfig(), users: CAS_USERS, verifier: verifierReturning(`alice${USER_MARKUP}&amp;\u0001`, [`r${MARKUP}`, "o'\"<>&"]) });
    try {
      const ticket = (await casLogin(t.app)).ticket!;
      const xml = parseCasXml((await validate(t.app, '/cas/p3/serviceValidate', { service: SERVICE, ticket })).body);
      assert.equal(xml.user, `alice${USER_MARKUP}&amp;\uFFFD`, 'markup arrives as text, the control character as U+FFFD');
      assert.deepEqual(xml.attributes.get('principalType'), ['user']);
      assert.deepEqual(xml.attributes.get('roles'), [`r${MARKUP}`, "o'\"<>&"]);
      assert.equal(xml.elementCount, 10, 'under serviceResponse: success, user, attributes and seven attribute elements, nothing injected');
      const json = (await validate(t.app, '/cas/p3/serviceValidate', { service: SERVICE, ticket: (await casLogin(t.app)).ticket!, format: 'JSON' })).json() as { serviceResponse: { authenticationSuccess: { user: string } } };
      assert.equal(json.serviceResponse.authenticationSuccess.user, `alice${USER_MARKUP}&amp;\u0001`);
    } finally {
      await t.close();
    }
  });

  it("a machine's location with markup stays one text node", async () => {
    const t = await createTestApp({ config: casConfig(), users: CAS_USERS });
    try {
      const admin = new CookieJar();
      await mintInBrowser(t.app, admin, KIOSK, '30', { entitlements: 'library-walk-in other-resource', location: `Floor 1 ${MARKUP} & "more"` });
      const response = await casGet(t.app, jarWithMachineCookie(admin.cookies.get('__Host-webiso_machine')!), loginUrl(KIOSK_SERVICE));
      const xml = parseCasXml((await validate(t.app, '/cas/serviceValidate', { service: KIOSK_SERVICE, ticket: ticketOf(response)! })).body);
      assert.equal(xml.user, `host/${KIOSK}`);
      assert.deepEqual(xml.attributes.get('machineLocation'), [`Floor 1 ${MARKUP} & "more"`]);
      assert.deepEqual(xml.attributes.get('principalType'), ['machine']);
      assert.deepEqual(xml.attributes.get('entitlement'), ['library-walk-in', 'other-resource']);
    } finally {
      await t.close();
    }
  });

  it('cas.machineUserPattern names the machine; a username containing "/" is never released', async () => {
    const t = await createTestApp({ config: casConfig({ cas: { machineUserPattern: 'machine/{fqdn}@LIBRARY' } }), users: CAS_USERS, verifier: verifierReturning(`host/${KIOSK}`, []) });
    try {
      const machine = await casGet(t.app, jarWithMachineCookie(await mintKiosk(t)), loginUrl(KIOSK_SERVICE));
      assert.equal(parseCasXml((await validate(t.app, '/cas/p3/serviceValidate', { service: KIOSK_SERVICE, ticket: ticketOf(machine)! })).body).user, `machine/${KIOSK}@LIBRARY`);

      const jar = new CookieJar();
      const form = await casGet(t.app, jar, loginUrl(SERVICE));
      const response = await t.app.inject({ method: 'POST', url: '/cas/login', headers: { ...HTML, ...jar.header(), ...FORM }, payload: new URLSearchParams({ ctx: hiddenField(form.body, 'ctx')!, csrf: hiddenField(form.body, 'csrf')!, username: 'x', password: 'y' }).toString() });
      assert.equal(response.statusCode, 403);
      assert.equal(response.headers.location, undefined);
      assert.match(response.body, /cannot be used with this application/);
    } finally {
      await t.close();
    }
  });

  it('config: the pattern must keep machines apart from people; CAS-only apps need no returnUrls; https in production', () => {
    assert.throws(() => casConfig({ cas: { machineUserPattern: '{fqdn}' } }), (error: unknown) => error instanceof ConfigError && /cas\.machineUserPattern.*"\/"/.test(error.message));
    assert.throws(() => casConfig({ cas: { machineUserPattern: 'host/machine' } }), (error: unknown) => error instanceof ConfigError && /\{fqdn\} exactly once/.test(error.message));
    assert.throws(() => casConfig({ cas: { ticketLifetimeSeconds: 120 } }), (error: unknown) => error instanceof ConfigError && /cas\.ticketLifetimeSeconds/.test(error.message));
    assert.throws(
      () => casConfig({ apps: [{ id: 'x', name: 'X', cas: { services: ['https://x.example.edu/a?b=1'] } }] }),
      (error: unknown) => error instanceof ConfigError && /apps\[0\]\.cas\.services\[0\]/.test(error.message),
    );
    assert.throws(() => casConfig({ apps: [{ id: 'x', name: 'X' }] }), (error: unknown) => error instanceof ConfigError && /apps\[0\]\.returnUrls.*cas section/.test(error.message));
    assert.throws(
      () => casConfig({ mode: 'production', apps: [{ id: 'x', name: 'X', cas: { services: ['http://x.example.edu/'] } }] }),
      (error: unknown) => error instanceof ConfigError && /apps\[0\]\.cas\.services\[0\]: must be an https/.test(error.message),
    );
    assert.throws(() => casConfig({ apps: [{ id: 'x', name: 'X', cas: { services: ['https://x.example.edu/'], flavor: 'getcred' } }] }), ConfigError);
    assert.equal(casConfig().apps[0]?.cas?.flavor, 'basic');
  });

  it('/cas/logout shows the logout confirmation, honours a registered service only, and ends the SSO session', async () => {
    const t = await createTestApp({ config: casConfig(), users: CAS_USERS });
    try {
      const { jar } = await casLogin(t.app);
      const refused = await casGet(t.app, jar, `/cas/logout?service=${encodeURIComponent('https://evil.example.org/')}`);
      assert.equal(refused.statusCode, 400);
      const page = await casGet(t.app, jar, `/cas/logout?service=${encodeURIComponent(SERVICE)}`);
      assert.equal(page.statusCode, 200);
      assert.equal(hiddenField(page.body, 'return'), SERVICE);
      const done = await t.app.inject({ method: 'POST', url: '/logout', headers: { ...HTML, ...jar.header(), ...FORM }, payload: new URLSearchParams({ csrf: hiddenField(page.body, 'csrf')!, return: SERVICE }).toString() });
      jar.store(done);
      assert.equal(done.statusCode, 303);
      assert.equal(done.headers.location, SERVICE);
      const after = await casGet(t.app, jar, loginUrl(SERVICE, { gateway: 'true' }));
      assert.equal(after.headers.location, SERVICE, 'gateway finds no session any more');
      assert.equal((await casGet(t.app, jar, '/cas/logout')).statusCode, 200, 'without a service (SimpleSAMLphp) too');
    } finally {
      await t.close();
    }
  });
});
