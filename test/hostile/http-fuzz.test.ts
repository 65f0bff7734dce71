import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import { CookieJar, hiddenField } from '../support/webiso.ts';
import { ALICE } from '../support/machines.ts';
import { assertWellBehaved, CAS_SERVICE, createHostileApp, fuzzOptions, grantIn, hostileString, NATIVE_RETURN, watchUnhandledRejections, type HostileApp } from './harness.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const unhandled = watchUnhandledRejections();

/** Values near the registered ones (where the bugs are) and anything at all. */
const returnUrl = fc.oneof(
  fc.constantFrom(NATIVE_RETURN, `${NATIVE_RETURN}/x?y=1`, 'https://app.example.edu:8443/other/a', 'https://app.example.edu.evil.test/webiso/callback', 'https://app.example.edu@evil.test/', 'javascript:alert(1)', '//evil.test/', '/\\evil.test'),
  fc.tuple(fc.constantFrom(NATIVE_RETURN, CAS_SERVICE, 'https://app.example.edu'), hostileString(40)).map(([base, tail]) => base + tail),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  hostileString(),
);
const paramValue = fc.oneof(hostileString(60), fc.array(hostileString(20), { minLength: 2, maxLength: 3 }));
const grantingParams = fc.record(
  {
    appid: fc.oneof(fc.constantFrom('app', 'portal', 'APP', 'app ', 'nope'), hostileString(70)),
    return: returnUrl,
    flavor: fc.oneof(fc.constantFrom('basic', 'getcred', 'machineoruser', 'BASIC'), hostileString(20)),
    nonce: fc.oneof(fc.constant('nonce-123'), hostileString(200)),
    passive: fc.constantFrom('1', '0', 'true', 'yes', ''),
    force: fc.constantFrom('1', '0', ''),
    target: hostileString(300),
    extra: paramValue,
  },
  { requiredKeys: [] },
);

function query(params: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const one of Array.isArray(value) ? value : [value]) search.append(name, String(one));
  return search.toString();
}

describe('hostile input over HTTP (fast-check)', () => {
  let t: HostileApp;
  before(async () => {
    t = await createHostileApp();
  });
  after(async () => {
    await t.close();
    assert.deepEqual(unhandled(), [], 'no unhandled rejections');
  });

  const browsers = () => [new CookieJar(), t.alice, t.kiosk];

  it('granting requests and return URLs: no 5xx, grants and errors only ever posted to registered URLs', async () => {
    await fc.assert(
      fc.asyncProperty(grantingParams, fc.nat(2), fc.boolean(), async (params, browser, post) => {
        const jar = browsers()[browser]!;
        const response = post
          ? await t.app.inject({ method: 'POST', url: '/login', headers: { ...jar.header(), ...FORM }, payload: query(params) })
          : await t.app.inject({ method: 'GET', url: `/login?${query(params)}`, headers: { accept: 'text/html', ...jar.header() } });
        assertWellBehaved(t.config, response, `${post ? 'POST' : 'GET'} /login ${JSON.stringify(params)}`);
      }),
      fuzzOptions,
    );
  });

  it('CAS login, validation and logout: no 5xx, redirects only to registered services, no fuzzed ticket validates', async () => {
    const paths = ['/cas/login', '/cas/validate', '/cas/serviceValidate', '/cas/proxyValidate', '/cas/p3/serviceValidate', '/cas/p3/proxyValidate', '/cas/logout'];
    const casParams = fc.record(
      {
        service: returnUrl,
        url: returnUrl,
        ticket: fc.oneof(fc.constant('ST-1-abc'), hostileString(300)),
        format: fc.constantFrom('XML', 'JSON', 'json', 'TEXT', ''),
        renew: fc.constantFrom('true', 'false', '1', ''),
        gateway: fc.constantFrom('true', ''),
        pgtUrl: returnUrl,
        method: fc.constantFrom('POST', 'GET', 'HEADER', 'evil'),
        extra: paramValue,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), casParams, fc.nat(2), async (path, params, browser) => {
        const jar = browsers()[browser]!;
        const response = await t.app.inject({ method: 'GET', url: `${path}?${query(params)}`, headers: { accept: 'text/html', ...jar.header() } });
        assertWellBehaved(t.config, response, `GET ${path} ${JSON.stringify(params)}`);
        if (path !== '/cas/login' && path !== '/cas/logout') assert.doesNotMatch(response.body, /authenticationSuccess|^yes\n/, 'a fuzzed ticket never validates');
      }),
      fuzzOptions,
    );
  });

  it('login form bodies (native, CAS, admin): no 5xx, and no grant without the right password', async () => {
    const page = await t.app.inject({ method: 'GET', url: `/login?${query({ appid: 'app', return: NATIVE_RETURN, nonce: 'n1' })}`, headers: { accept: 'text/html' } });
    const jar = new CookieJar();
    jar.store(page);
    const real = { ctx: hiddenField(page.body, 'ctx') ?? '', csrf: hiddenField(page.body, 'csrf') ?? '' };
    assert.ok(real.ctx && real.csrf, 'fixture: a login form');
    const body = fc.record(
      {
        ctx: fc.oneof(fc.constant(real.ctx), hostileString(400)),
        csrf: fc.oneof(fc.constant(real.csrf), hostileString(60)),
        username: fc.oneof(fc.constantFrom('alice', 'ALICE', 'alice\u0000', 'alice\r\nevent=forged', '\u001b[2Jroot'), hostileString(400)),
        password: fc.oneof(fc.constant('wrong'), hostileString(1200)),
        consent: hostileString(10),
        next: returnUrl,
        extra: paramValue,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/login', '/cas/login', '/admin/login'), body, async (path, fields) => {
        const response = await t.app.inject({ method: 'POST', url: path, headers: { accept: 'text/html', ...jar.header(), ...FORM }, payload: query(fields) });
        assertWellBehaved(t.config, response, `POST ${path} ${JSON.stringify(fields).slice(0, 300)}`);
        if (fields.password !== ALICE.password) assert.equal(grantIn(response), undefined, 'no grant for a wrong password');
      }),
      fuzzOptions,
    );
  });

  it('admin form bodies with a valid admin session and CSRF token: no 5xx', async () => {
    const routes = [
      '/admin/machines',
      '/admin/bulk',
      '/admin/switch-user',
      '/admin/machines/kiosk1.kiosk.example.edu/details',
      '/admin/machines/kiosk1.kiosk.example.edu/enroll',
      '/admin/machines/kiosk1.kiosk.example.edu/enrollment/cancel',
      '/admin/machines/kiosk1.kiosk.example.edu/mint',
      '/admin/machines/{fqdn}/suspend',
      '/admin/machines/{fqdn}/revoke',
      '/admin/alerts/{id}/close',
      '/admin/users/{name}/disable',
      '/admin/users/{name}/logout',
    ];
    const fields = fc.record(
      {
        fqdn: hostileString(300),
        days: fc.oneof(fc.constantFrom('30', '0', '-1', '1e9', 'NaN'), hostileString(20)),
        location: hostileString(300),
        entitlements: hostileString(300),
        networks: hostileString(300),
        reason: hostileString(600),
        action: hostileString(30),
        selected: paramValue,
        user: hostileString(300),
        next: returnUrl,
        extra: paramValue,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.stringMatching(/^[\w.%-]{1,80}$/), fields, async (route, param, body) => {
        const url = route.replace(/\{\w+\}/, param);
        const response = await t.app.inject({ method: 'POST', url, headers: { accept: 'text/html', ...t.admin.header(), ...FORM }, payload: query({ csrf: t.adminCsrf, ...body }) });
        assertWellBehaved(t.config, response, `POST ${url} ${JSON.stringify(body).slice(0, 300)}`);
      }),
      { ...fuzzOptions, numRuns: Math.ceil(fuzzOptions.numRuns / 2) },
    );
  });

  it('every cookie kind, fuzzed or mutated: no 5xx, no grant without the real session, no machine accepted without the real cookie', async () => {
    const sso = t.alice.cookies.get('__Host-webiso_login') ?? '';
    const machine = t.kiosk.cookies.get(MACHINE_COOKIE) ?? '';
    const mutate = (value: string) =>
      fc.tuple(fc.nat(value.length), fc.string({ minLength: 1, maxLength: 3 }), fc.nat(3)).map(([at, text, deleteCount]) => value.slice(0, at) + text + value.slice(at + deleteCount)).filter((mutated) => mutated !== value);
    const cookies = fc.record(
      {
        '__Host-webiso_login': fc.oneof(mutate(sso), hostileString(5000)),
        '__Host-webiso_csrf': hostileString(100),
        [MACHINE_COOKIE]: fc.oneof(mutate(machine), hostileString(5000)),
      },
      { requiredKeys: [] },
    );
    const paths = [`/login?${query({ appid: 'app', return: NATIVE_RETURN, nonce: 'n2' })}`, `/login?${query({ appid: 'app', return: NATIVE_RETURN, nonce: 'n3', flavor: 'machineoruser' })}`, `/cas/login?${query({ service: CAS_SERVICE })}`, '/', '/admin'];
    const acceptedSightings = async () =>
      Number((await t.app.webiso.store.db.selectFrom('machine_sightings').select((eb) => eb.fn.countAll<number>().as('n')).where('outcome', '=', 'accepted').executeTakeFirstOrThrow()).n);
    const before = await acceptedSightings();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), cookies, fc.option(hostileString(400)), async (path, values, raw) => {
        const header = raw ?? Object.entries(values).map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; ');
        const response = await t.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html', cookie: header } });
        assertWellBehaved(t.config, response, `GET ${path} cookie ${header.slice(0, 200)}`);
        assert.equal(grantIn(response), undefined, 'no grant from a cookie webiso did not set');
        assert.doesNotMatch(String(response.headers.location ?? ''), /ticket=/, 'no CAS ticket from a forged session');
      }),
      fuzzOptions,
    );
    assert.equal(await acceptedSightings(), before, 'no mutated machine cookie was accepted');
  });
});
