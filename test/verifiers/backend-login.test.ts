import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startKdc } from '../support/kdc.ts';
import { startSlapd } from '../support/slapd.ts';
import { createTestApp, hiddenField, loginThroughForm, testConfig } from '../support/webiso.ts';

/** The login page, end to end through buildApp, with each real back-end behind it. */
describe('logging in through webiso with real back-ends', () => {
  it('LDAP (service bind, group → role): good and bad passwords, injection, directory down', async () => {
    const slapd = await startSlapd();
    const config = testConfig();
    const passwordFile = join(config.dataDir, 'ldap-bind.pw');
    writeFileSync(passwordFile, `${slapd.servicePassword}\n`, { mode: 0o600 });
    const test = await createTestApp({
      config: testConfig(
        {
          verifier: { kind: 'ldap', url: slapd.url, baseDn: slapd.peopleDn, bindDn: slapd.serviceDn, bindPasswordFile: passwordFile, groupBaseDn: slapd.groupsDn, groupRoles: { 'webiso-admins': ['admin'] }, timeoutSeconds: 2 },
        },
        config.dataDir,
      ),
      users: [],
    });
    try {
      const good = await loginThroughForm(test.app, { username: 'alice', password: 'alice-password-1' });
      assert.ok(hiddenField(good.response.body, 'grant'), 'alice logs in against slapd');
      const session = await test.app.webiso.store.db.selectFrom('sessions').select(['username', 'roles', 'verifier']).executeTakeFirstOrThrow();
      assert.deepEqual({ ...session, roles: JSON.parse(session.roles) }, { username: 'alice', roles: ['admin'], verifier: 'ldap' });

      const bad = await loginThroughForm(test.app, { username: 'alice', password: 'wrong-password' });
      assert.equal(bad.response.statusCode, 401);
      for (const username of ['*', 'al*', 'alice)(uid=*', '*)(|(uid=*']) {
        const injected = await loginThroughForm(test.app, { username, password: 'alice-password-1' });
        assert.equal(injected.response.statusCode, 401, `"${username}" must not log in`);
      }
      await slapd.stop();
      const down = await loginThroughForm(test.app, { username: 'alice', password: 'alice-password-1' });
      assert.equal(down.response.statusCode, 503);
      assert.equal((await test.app.webiso.audit.recent(1))[0]?.event, 'login.unavailable');
      // An outage is not a failed password: it must not eat into the account's throttle budget.
      assert.equal(await test.app.webiso.throttle.failuresSince('account', 'alice', 0), 1);
    } finally {
      await test.close();
      await slapd.stop().catch(() => undefined);
    }
  });

  it('Kerberos: good password, wrong password, foreign realm, instance', async () => {
    const kdc = await startKdc();
    const test = await createTestApp({
      config: testConfig({ verifier: { kind: 'kerberos', realms: [kdc.realm], servicePrincipal: kdc.servicePrincipal, keytab: kdc.keytabPath, krb5Config: kdc.krb5ConfPath, timeoutSeconds: 5 } }),
      users: [],
    });
    try {
      const good = await loginThroughForm(test.app, { username: 'alice', password: 'alice-password-1' });
      assert.ok(hiddenField(good.response.body, 'grant'));
      const qualified = await loginThroughForm(test.app, { username: 'bob@TEST.WEBISO', password: 'bob-password-1' });
      assert.ok(hiddenField(qualified.response.body, 'grant'));
      for (const [username, password] of [['alice', 'nope'], ['alice@OTHER.REALM', 'alice-password-1'], ['alice/admin', 'alice-password-1']] as const) {
        const refused = await loginThroughForm(test.app, { username, password });
        assert.equal(refused.response.statusCode, 401, username);
      }
      await test.app.webiso.audit.flush();
      const events = await test.app.webiso.store.db.selectFrom('auth_events').select(['event', 'verifier']).where('event', 'like', 'login.%').orderBy('id').execute();
      assert.deepEqual(events.map((event) => event.event), ['login.success', 'login.success', 'login.failure', 'login.failure', 'login.failure']);
      assert.ok(events.every((event) => event.verifier === 'kerberos'));
    } finally {
      await test.close();
      await kdc.stop();
    }
  });
});
