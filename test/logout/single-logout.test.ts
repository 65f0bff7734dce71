import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { DOMParser } from '@xmldom/xmldom';
import type { FastifyInstance } from 'fastify';
import { sweepExpiredSessions } from '../../src/logout/sweep.ts';
import { casLogin, validate } from '../support/cas.ts';
import { startLogoutReceiver, type LogoutReceiver } from '../support/logout-receiver.ts';
import { ALICE_PASSWORD, APP_RETURN, attemptLogin, auditEvents, CookieJar, createTestApp, fakeClock, grantOf, hiddenField, HTML, ISSUER, postForm, testConfig, type TestApp } from '../support/webiso.ts';

const CAS_SERVICE_PATH = '/cas-app/';

function config(receiver: LogoutReceiver) {
  return testConfig({
    apps: [
      { id: 'app', name: 'Example App', returnUrls: [APP_RETURN], logout: { backchannelUrl: `${receiver.url}/app/backchannel` } },
      { id: 'other', name: 'Other App', returnUrls: ['https://other.example.edu/cb'], logout: { frontchannelUrl: 'https://other.example.edu/frontchannel-logout' } },
      { id: 'silent', name: 'Silent App', returnUrls: ['https://silent.example.edu/cb'] },
      { id: 'casapp', name: 'CAS App', cas: { services: [`${receiver.url}${CAS_SERVICE_PATH}`], singleLogout: true } },
    ],
    logout: { deliveryTimeoutSeconds: 1 },
  });
}

async function grantFor(app: FastifyInstance, jar: CookieJar, appid: string, returnUrl: string) {
  const response = await app.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid, return: returnUrl, nonce: 'n-1' })}`, headers: { ...HTML, ...jar.header() } });
  jar.store(response);
  return decodeJwt(grantOf(response.body)!);
}

async function logOut(app: FastifyInstance, jar: CookieJar) {
  const page = await app.inject({ method: 'GET', url: '/logout', headers: { ...HTML, ...jar.header() } });
  jar.store(page);
  return postForm(app, jar, '/logout', { csrf: hiddenField(page.body, 'csrf')! });
}

async function verifyLogoutToken(app: FastifyInstance, token: string, audience: string, now: number) {
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet;
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience, typ: 'logout+jwt', algorithms: ['EdDSA'], currentDate: new Date(now), maxTokenAge: '120s' });
}

function deliveries(app: FastifyInstance) {
  return app.webiso.store.db.selectFrom('logout_deliveries').select(['app_id', 'channel', 'status', 'attempts', 'reason', 'last_error']).orderBy('id').execute();
}

async function sessionCount(app: FastifyInstance): Promise<number> {
  const row = await app.webiso.store.db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('single logout', () => {
  let receiver: LogoutReceiver;
  let t: TestApp;
  const clock = fakeClock(Date.now());
  before(async () => {
    receiver = await startLogoutReceiver();
  });
  after(() => receiver.close());
  beforeEach(async () => {
    await t?.close();
    receiver.received.length = 0;
    receiver.status = 200;
    t = await createTestApp({ config: config(receiver), now: clock.now });
  });
  after(() => t?.close());

  it('logout sends every app that has a back-channel URL a logout token naming the grant\'s sid; the page lists every app', async () => {
    const { jar, response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    const grant = decodeJwt(grantOf(response.body)!);
    await grantFor(t.app, jar, 'other', 'https://other.example.edu/cb');
    await grantFor(t.app, jar, 'silent', 'https://silent.example.edu/cb');
    const page = await logOut(t.app, jar);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<li data-app="app"><strong>Example App<\/strong>:\s*<span class="app-status" data-status="told">logged out/);
    assert.match(page.body, /data-app="silent"[\s\S]*?data-status="unreachable"/);
    const frame = /<iframe class="frontchannel" hidden title="Logging out of Other App" src="([^"]+)"/.exec(page.body)?.[1]?.replace(/&amp;/g, '&');
    assert.equal(frame, `https://other.example.edu/frontchannel-logout?iss=${encodeURIComponent(ISSUER)}&sid=${grant.sid}`);
    assert.match(String(page.headers['content-security-policy']), /frame-src https:\/\/other\.example\.edu/);

    const [delivery] = await receiver.waitFor(1);
    assert.equal(delivery?.path, '/app/backchannel');
    assert.equal(delivery?.contentType, 'application/x-www-form-urlencoded');
    const { payload, protectedHeader } = await verifyLogoutToken(t.app, delivery!.fields.logout_token!, 'app', clock.now());
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.equal(payload.sid, grant.sid);
    assert.equal(payload.sub, 'alice');
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(payload.nonce, undefined);
    await t.app.webiso.logoutDeliverer.drain();
    assert.deepEqual((await deliveries(t.app)).map((row) => [row.app_id, row.status, row.reason]), [['app', 'delivered', 'logout']]);
    assert.ok((await auditEvents(t.app)).some((row) => row.event === 'logout.delivery' && row.app_id === 'app' && /attempt=1 delivered status=200/.test(row.detail ?? '')));
    assert.ok((await auditEvents(t.app)).some((row) => row.event === 'session.ended' && row.detail === 'reason=logout apps=app,other,silent deliveries=1'));
  });

  it('an app that is down is retried with backoff and receives the token when it is back', async () => {
    receiver.status = 503;
    const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    const logout = await logOut(t.app, jar);
    assert.equal(logout.statusCode, 200, 'the person is not kept waiting');
    await receiver.waitFor(1);
    await t.app.webiso.logoutDeliverer.drain();
    assert.deepEqual((await deliveries(t.app)).map((row) => [row.status, row.attempts, row.last_error]), [['pending', 1, 'HTTP 503']]);
    assert.equal(await t.app.webiso.logoutDeliverer.runOnce(), 0, 'not due before the backoff');
    receiver.status = 200;
    clock.advance(5);
    assert.equal(await t.app.webiso.logoutDeliverer.runOnce(), 1);
    assert.equal(receiver.received.length, 2);
    assert.deepEqual((await deliveries(t.app)).map((row) => [row.status, row.attempts]), [['delivered', 2]]);
    const attempts = (await auditEvents(t.app)).filter((row) => row.event === 'logout.delivery').map((row) => row.detail);
    assert.deepEqual(attempts, ['channel=backchannel attempt=1 retry error=HTTP 503', 'channel=backchannel attempt=2 delivered status=200']);
  });

  it('a delivery that keeps failing is given up after logout.retryForSeconds and shows in the delivery health', async () => {
    receiver.status = 500;
    const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    await logOut(t.app, jar);
    await receiver.waitFor(1);
    for (let i = 0; i < 12 && (await deliveries(t.app))[0]?.status === 'pending'; i++) {
      clock.advance(600);
      await t.app.webiso.logoutDeliverer.runOnce();
    }
    assert.equal((await deliveries(t.app))[0]?.status, 'failed');
    assert.deepEqual((await t.app.webiso.logoutDeliveries.health()).map((row) => [row.appId, row.failed, row.lastError]), [['app', 1, 'HTTP 500']]);
  });

  it('a new password login in the same browser logs the previous person out of their apps', async () => {
    const { jar, response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    const first = decodeJwt(grantOf(response.body)!);
    const second = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD, jar, query: { force: '1' } });
    assert.notEqual(decodeJwt(grantOf(second.response.body)!).sid, first.sid, 'a new session, a new sid');
    const [delivery] = await receiver.waitFor(1);
    assert.equal(decodeJwt(delivery!.fields.logout_token!).sid, first.sid);
    await t.app.webiso.logoutDeliverer.drain();
    assert.deepEqual((await deliveries(t.app)).map((row) => row.reason), ['replaced']);
  });

  it('idle expiry is noticed by the sweep, without any browser request, and logs the apps out', async () => {
    const { response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    const grant = decodeJwt(grantOf(response.body)!);
    clock.advance(t.config.session.idleSeconds + 1);
    assert.equal(await sweepExpiredSessions(t.app.webiso, t.app.log), 1);
    const [delivery] = await receiver.waitFor(1);
    assert.equal(decodeJwt(delivery!.fields.logout_token!).sid, grant.sid);
    assert.equal(await sessionCount(t.app), 0);
    assert.equal(await sweepExpiredSessions(t.app.webiso, t.app.log), 0, 'once');
    await t.app.webiso.logoutDeliverer.drain();
    assert.deepEqual((await deliveries(t.app)).map((row) => row.reason), ['expired']);
  });

  it('a CAS service with singleLogout gets a SAML LogoutRequest naming its validated ticket', async () => {
    const service = `${receiver.url}${CAS_SERVICE_PATH}index.php`;
    const { jar, ticket } = await casLogin(t.app, { service, user: { name: 'alice', password: ALICE_PASSWORD } });
    assert.equal((await validate(t.app, '/cas/serviceValidate', { service, ticket: ticket! })).statusCode, 200);
    await logOut(t.app, jar);
    const [delivery] = await receiver.waitFor(1);
    assert.equal(delivery?.path, `${CAS_SERVICE_PATH}index.php`);
    assert.deepEqual(Object.keys(delivery!.fields), ['logoutRequest'], 'the only field (mod_auth_cas reads the first)');
    const doc = new DOMParser().parseFromString(delivery!.fields.logoutRequest!, 'application/xml');
    const samlp = 'urn:oasis:names:tc:SAML:2.0:protocol';
    assert.equal(doc.documentElement?.localName, 'LogoutRequest');
    assert.equal(doc.getElementsByTagNameNS(samlp, 'SessionIndex')[0]?.textContent, ticket);
    assert.equal(doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'NameID')[0]?.textContent, 'alice');
  });

  it('a ticket that was never validated is not a CAS session: nothing is sent for it', async () => {
    const service = `${receiver.url}${CAS_SERVICE_PATH}index.php`;
    const { jar } = await casLogin(t.app, { service, user: { name: 'alice', password: ALICE_PASSWORD } });
    await logOut(t.app, jar);
    await t.app.webiso.logoutDeliverer.drain();
    assert.deepEqual(await deliveries(t.app), []);
    assert.equal(receiver.received.length, 0);
  });
});
