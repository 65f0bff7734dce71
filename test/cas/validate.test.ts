import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CAS_USERS, casConfig, casLogin, parseCasXml, SERVICE, validate } from '../support/cas.ts';
import { auditEvents, createTestApp, fakeClock, type TestApp } from '../support/webiso.ts';

const V3 = '/cas/p3/serviceValidate';
const V2 = '/cas/serviceValidate';
const V1 = '/cas/validate';

/** The validation endpoints through app.inject: single use, expiry, service binding, renew, formats. */
describe('CAS ticket validation', () => {
  let t: TestApp;
  const clock = fakeClock();
  before(async () => {
    t = await createTestApp({ config: casConfig(), users: CAS_USERS, now: clock.now });
  });
  after(() => t.close());
  const freshTicket = async (service = SERVICE, extra: Record<string, string> = {}) => (await casLogin(t.app, { service, extra })).ticket!;

  it('CAS 3 XML releases the person with camelCase attributes inside cas:attributes', async () => {
    const response = await validate(t.app, V3, { service: SERVICE, ticket: await freshTicket() });
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] as string, /^application\/xml/);
    const xml = parseCasXml(response.body);
    assert.equal(xml.user, 'alice');
    assert.deepEqual(Object.fromEntries(xml.attributes), {
      principalType: ['user'],
      webisoFlavor: ['basic'],
      authenticationDate: [new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, '.000Z')],
      isFromNewLogin: ['true'],
      longTermAuthenticationRequestTokenUsed: ['false'],
      roles: ['library', 'staff'],
    });
  });

  it('CAS 2 XML carries the attributes too; CAS 1 answers yes/no text', async () => {
    const v2 = parseCasXml((await validate(t.app, V2, { service: SERVICE, ticket: await freshTicket() })).body);
    assert.equal(v2.user, 'alice');
    assert.deepEqual(v2.attributes.get('principalType'), ['user']);
    const v1 = await validate(t.app, V1, { service: SERVICE, ticket: await freshTicket() });
    assert.equal(v1.body, 'yes\nalice\n');
    assert.match(v1.headers['content-type'] as string, /^text\/plain/);
    assert.equal((await validate(t.app, V1, { service: SERVICE, ticket: 'ST-unknown' })).body, 'no\n\n');
  });

  it('format=JSON gives the CAS 3 JSON layout; lists stay arrays', async () => {
    const response = await validate(t.app, V3, { service: SERVICE, ticket: await freshTicket(), format: 'JSON' });
    assert.match(response.headers['content-type'] as string, /^application\/json/);
    const body = response.json() as { serviceResponse: { authenticationSuccess: { user: string; attributes: Record<string, unknown> } } };
    assert.equal(body.serviceResponse.authenticationSuccess.user, 'alice');
    assert.equal(body.serviceResponse.authenticationSuccess.attributes.principalType, 'user');
    assert.deepEqual(body.serviceResponse.authenticationSuccess.attributes.roles, ['library', 'staff']);
    const failure = (await validate(t.app, V3, { service: SERVICE, ticket: 'ST-nope', format: 'json' })).json() as { serviceResponse: { authenticationFailure: { code: string } } };
    assert.equal(failure.serviceResponse.authenticationFailure.code, 'INVALID_TICKET');
  });

  it('a ticket validates once: the replay is INVALID_TICKET', async () => {
    const ticket = await freshTicket();
    assert.equal(parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket })).body).user, 'alice');
    const replay = parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket })).body);
    assert.equal(replay.failureCode, 'INVALID_TICKET');
    assert.equal(replay.user, undefined);
  });

  it('a wrong service is INVALID_SERVICE and burns the ticket for the right one too', async () => {
    const ticket = await freshTicket();
    const wrong = parseCasXml((await validate(t.app, V3, { service: 'https://cas.example.edu/secure/other.php', ticket })).body);
    assert.equal(wrong.failureCode, 'INVALID_SERVICE');
    assert.equal(parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket })).body).failureCode, 'INVALID_TICKET');
  });

  it('the service is compared exactly after one percent-decoding, as mod_auth_cas sends it (lower-case hex)', async () => {
    const ticket = await freshTicket();
    const lowerHex = encodeURIComponent(SERVICE).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    const response = await t.app.inject({ method: 'GET', url: `${V3}?service=${lowerHex}&ticket=${ticket}` });
    assert.equal(parseCasXml(response.body).user, 'alice');
    const reordered = await freshTicket();
    assert.equal(parseCasXml((await validate(t.app, V3, { service: `${SERVICE}&`, ticket: reordered })).body).failureCode, 'INVALID_SERVICE');
  });

  it('a ticket expires after cas.ticketLifetimeSeconds (60 s), and is burned by that failed attempt', async () => {
    const ticket = await freshTicket();
    clock.advance(61);
    assert.equal(parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket })).body).failureCode, 'INVALID_TICKET');
    clock.advance(-61);
    assert.equal(parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket })).body).failureCode, 'INVALID_TICKET');
    const inTime = await freshTicket();
    clock.advance(60);
    assert.equal(parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket: inTime })).body).user, 'alice');
  });

  it('renew=true at validation refuses a ticket that came from the SSO session (INVALID_TICKET_SPEC)', async () => {
    const { jar } = await casLogin(t.app);
    const sso = (await casLogin(t.app, { jar })).ticket!;
    assert.equal(parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket: sso, renew: 'true' })).body).failureCode, 'INVALID_TICKET_SPEC');
    const renewed = (await casLogin(t.app, { jar, extra: { renew: 'true' } })).ticket!;
    assert.equal(parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket: renewed, renew: 'true' })).body).user, 'alice');
  });

  it('malformed requests still get CAS XML: missing, repeated or oversized parameters are INVALID_REQUEST (400)', async () => {
    const ticket = await freshTicket();
    const cases: Array<[string, string]> = [
      [`${V3}?service=${encodeURIComponent(SERVICE)}`, 'INVALID_REQUEST'],
      [`${V3}?ticket=${ticket}`, 'INVALID_REQUEST'],
      [`${V3}?service=${encodeURIComponent(SERVICE)}&ticket=${ticket}&ticket=${ticket}`, 'INVALID_REQUEST'],
      [`${V3}?service=${encodeURIComponent(SERVICE)}&ticket=ST-${'a'.repeat(300)}`, 'INVALID_REQUEST'],
      [`${V3}?service=${encodeURIComponent(SERVICE)}&ticket=x&format=YAML`, 'INVALID_REQUEST'],
      [V2, 'INVALID_REQUEST'],
    ];
    for (const [url, code] of cases) {
      const response = await t.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 400, url.slice(0, 80));
      assert.equal(parseCasXml(response.body).failureCode, code, url.slice(0, 80));
    }
    // the repeated-ticket attempt above burned the ticket although it was malformed
    assert.equal(parseCasXml((await validate(t.app, V3, { service: SERVICE, ticket })).body).failureCode, 'INVALID_TICKET');
  });

  it('tickets of another shape (proxy tickets, base64url, garbage) are INVALID_TICKET, never a 5xx', async () => {
    for (const ticket of ['PT-abc', 'ST-abc_def', 'ST-', 'ticket', 'ST-<x>', 'ST-\u0000', '../../etc/passwd', 'ST-' + 'A'.repeat(253)]) {
      const response = await validate(t.app, V3, { service: SERVICE, ticket });
      assert.equal(response.statusCode, 200, ticket);
      assert.equal(parseCasXml(response.body).failureCode, 'INVALID_TICKET', ticket);
    }
  });

  it('a pgtUrl is ignored: validation succeeds without a proxy-granting ticket', async () => {
    const response = await validate(t.app, V3, { service: SERVICE, ticket: await freshTicket(), pgtUrl: 'https://cas.example.edu/secure/pgt' });
    assert.equal(parseCasXml(response.body).user, 'alice');
    assert.doesNotMatch(response.body, /proxyGrantingTicket/);
  });

  it('of 100 concurrent validations of one ticket exactly one succeeds', async () => {
    const ticket = await freshTicket();
    const answers = await Promise.all(Array.from({ length: 100 }, () => validate(t.app, V3, { service: SERVICE, ticket })));
    const users = answers.map((answer) => parseCasXml(answer.body).user).filter((user) => user !== undefined);
    assert.deepEqual(users, ['alice']);
  });

  it('audits validated and refused with the endpoint and code, never the ticket', async () => {
    const ticket = await freshTicket();
    await validate(t.app, V2, { service: SERVICE, ticket });
    await validate(t.app, V2, { service: SERVICE, ticket });
    const rows = (await auditEvents(t.app)).filter((row) => row.event.startsWith('cas.ticket.v') || row.event === 'cas.ticket.refused').slice(-2);
    assert.deepEqual(rows.map((row) => [row.event, row.username, row.detail]), [
      ['cas.ticket.validated', 'alice', 'endpoint=/cas/serviceValidate kind=user'],
      ['cas.ticket.refused', null, 'endpoint=/cas/serviceValidate code=INVALID_TICKET'],
    ]);
    assert.ok(!JSON.stringify(await auditEvents(t.app)).includes(ticket.slice(3)));
  });
});
