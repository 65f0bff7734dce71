// Two webiso hosts behind one name, sharing one PostgreSQL (issue 9): a person, a kiosk or a CAS
// client cannot tell which host answered. Each "host" is a whole app with its own pool, keystore
// cache, audit batcher and logout deliverer; only the database is shared.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { WebisoConfig } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { casLogin, SERVICE, validate, parseCasXml } from '../support/cas.ts';
import { ADMIN, ALICE, KIOSK, jarWithMachineCookie, requestLogin } from '../support/machines.ts';
import { startLogoutReceiver, type LogoutReceiver } from '../support/logout-receiver.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { postgresStoreConfig } from '../support/test-store.ts';
import { APP_RETURN, attemptLogin, grantOf, hiddenField, HTML, loginThroughForm, postForm, testConfig, verifyGrantWithJwks } from '../support/webiso.ts';

let postgres: PostgresServer;
let receiver: LogoutReceiver;

before(async () => {
  postgres = await startPostgres();
  receiver = await startLogoutReceiver();
});
after(async () => {
  await receiver?.close();
  await postgres?.stop();
});

function sharedConfig(schema: string): WebisoConfig {
  return testConfig({
    store: postgresStoreConfig(postgres, schema),
    throttle: { maxFailuresPerAccount: 4 },
    apps: [
      { id: 'app', name: 'Example App', returnUrls: [APP_RETURN], flavors: ['basic', 'machineoruser'], logout: { backchannelUrl: `${receiver.url}/backchannel` } },
      { id: 'portal', name: 'Portal', cas: { services: ['https://cas.example.edu/secure/'] } },
    ],
    machines: { mintPolicy: [{ roles: ['admin'], fqdns: ['*.kiosk.example.edu'] }] },
  });
}

/** Two hosts on one fresh schema; host A creates the accounts. */
async function twoHosts(schema: string): Promise<{ a: FastifyInstance; b: FastifyInstance; close(): Promise<void> }> {
  const config = sharedConfig(schema);
  const a = await buildApp(config, { logger: false });
  const b = await buildApp(config, { logger: false });
  for (const user of [ADMIN, { ...ALICE, roles: [] as string[] }]) await a.webiso.users.add(user.name, await hashPassword(user.password), user.roles, new Date());
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
}

describe('two hosts sharing PostgreSQL', () => {
  it('a person logged in on host A gets single sign-on from host B, with a grant both hosts publish keys for', async () => {
    const hosts = await twoHosts('two_sso');
    try {
      const { response, jar } = await loginThroughForm(hosts.a);
      assert.ok(grantOf(response.body), 'host A answered the password login with a grant');
      const sso = await hosts.b.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'app', return: APP_RETURN, flavor: 'basic', nonce: 'n-b' })}`, headers: { accept: 'text/html', ...jar.header() } });
      const grant = grantOf(sso.body);
      assert.ok(grant, `host B answered from the SSO session without a password prompt: ${sso.statusCode}`);
      for (const host of [hosts.a, hosts.b]) {
        const { payload } = await verifyGrantWithJwks(host, grant, { now: Date.now() });
        assert.equal(payload.sub, 'alice');
      }
    } finally {
      await hosts.close();
    }
  });

  it('a CAS ticket issued on host A validates once on host B and is then refused on host A', async () => {
    const hosts = await twoHosts('two_cas');
    try {
      const { ticket } = await casLogin(hosts.a);
      assert.ok(ticket);
      const first = parseCasXml((await validate(hosts.b, '/cas/p3/serviceValidate', { service: SERVICE, ticket })).body);
      assert.equal(first.user, 'alice');
      const again = parseCasXml((await validate(hosts.a, '/cas/p3/serviceValidate', { service: SERVICE, ticket })).body);
      assert.equal(again.user, undefined);
      assert.equal(again.failureCode, 'INVALID_TICKET');
    } finally {
      await hosts.close();
    }
  });

  it('failed logins spread over both hosts count against one throttle', async () => {
    const hosts = await twoHosts('two_throttle');
    try {
      for (const host of [hosts.a, hosts.b, hosts.a, hosts.b]) {
        const { response } = await attemptLogin(host, { username: 'alice', password: 'wrong password' });
        assert.equal(response.statusCode, 401);
      }
      // the fifth attempt, even with the right password, is refused on either host (with the
      // same page as a wrong password: a throttle does not tell an attacker it is one)
      for (const host of [hosts.a, hosts.b]) {
        const { response } = await attemptLogin(host, { username: 'alice', password: ALICE.password });
        assert.equal(response.statusCode, 401);
        assert.equal(grantOf(response.body), undefined, 'no grant once four failures were counted across both hosts');
      }
      const throttled = await hosts.a.webiso.store.db.selectFrom('auth_events').select('event').where('event', '=', 'login.throttled').execute();
      assert.equal(throttled.length, 2, 'both refusals were throttles');
    } finally {
      await hosts.close();
    }
  });

  it('a machine revoked on host A is refused by host B on the next request', async () => {
    const hosts = await twoHosts('two_revoke');
    try {
      const actor = { name: 'root' };
      await hosts.a.webiso.machines.operations.add(KIOSK, { location: 'Main library' }, actor);
      const { cookie } = await hosts.a.webiso.machines.operations.mint(KIOSK, 30, actor);
      const accepted = await requestLogin(hosts.b, jarWithMachineCookie(cookie));
      assert.deepEqual([accepted.claims?.kind, accepted.claims?.machineFQDN], ['machine', KIOSK], 'host B accepts the cookie host A minted');
      await hosts.a.webiso.machines.operations.revoke(KIOSK, actor, 'stolen');
      const refused = await requestLogin(hosts.b, jarWithMachineCookie(cookie));
      assert.equal(refused.claims, undefined, 'no machine grant after the revocation');
      assert.ok(refused.prompted, 'host B asks for a person instead');
    } finally {
      await hosts.close();
    }
  });

  it('a logout on host A delivers the back-channel logout exactly once, though both hosts run the outbox', async () => {
    const hosts = await twoHosts('two_logout');
    try {
      receiver.received.length = 0;
      const { jar } = await loginThroughForm(hosts.a);
      const page = await hosts.a.inject({ method: 'GET', url: '/logout', headers: { ...HTML, ...jar.header() } });
      jar.store(page);
      const loggedOut = await postForm(hosts.a, jar, '/logout', { csrf: hiddenField(page.body, 'csrf')! });
      assert.equal(loggedOut.statusCode, 200);
      // both hosts sweep the outbox at the same time, twice over
      await Promise.all([hosts.a.webiso.logoutDeliverer.runOnce(), hosts.b.webiso.logoutDeliverer.runOnce(), hosts.b.webiso.logoutDeliverer.runOnce()]);
      await Promise.all([hosts.a.webiso.logoutDeliverer.drain(), hosts.b.webiso.logoutDeliverer.drain()]);
      await receiver.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(receiver.received.length, 1, 'one logout token for one app session');
    } finally {
      await hosts.close();
    }
  });
});
