import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_KDC_USERS, startKdc } from '../support/kdc.ts';
import { startSlapd } from '../support/slapd.ts';
import { createTestApp, hiddenField, loginThroughForm, testConfig } from '../support/webiso.ts';

interface Tally {
  granted: number;
  unavailable: number;
  other: number[];
}

/** Password logins in a loop from several browsers until `until` resolves; counts the answers. */
async function loginLoad(app: FastifyInstance, username: string, password: string, until: Promise<void>): Promise<Tally> {
  const tally: Tally = { granted: 0, unavailable: 0, other: [] };
  let done = false;
  void until.then(() => (done = true));
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!done) {
        const { response } = await loginThroughForm(app, { username, password });
        if (response.statusCode === 200 && hiddenField(response.body, 'grant')) tally.granted += 1;
        else if (response.statusCode === 503 && /Try again later/i.test(response.body)) tally.unavailable += 1;
        else tally.other.push(response.statusCode);
      }
    }),
  );
  return tally;
}

const during = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A back-end that dies under load: the login page says "try again later" (503), never lets anyone in
 * and never answers 500; when the back-end returns, logins work again without restarting webiso.
 */
describe('back-end faults under load', () => {
  it('slapd killed and restarted', async () => {
    const slapd = await startSlapd();
    const config = testConfig();
    const passwordFile = join(config.dataDir, 'ldap-bind.pw');
    writeFileSync(passwordFile, `${slapd.servicePassword}\n`, { mode: 0o600 });
    const t = await createTestApp({ config: testConfig({ verifier: { kind: 'ldap', url: slapd.url, baseDn: slapd.peopleDn, bindDn: slapd.serviceDn, bindPasswordFile: passwordFile, timeoutSeconds: 1 } }, config.dataDir), users: [] });
    try {
      const before = await loginLoad(t.app, 'alice', 'alice-password-1', during(600));
      await slapd.kill();
      const down = await loginLoad(t.app, 'alice', 'alice-password-1', during(800));
      await slapd.restart();
      const after = await loginLoad(t.app, 'alice', 'alice-password-1', during(600));
      assert.ok(before.granted > 0 && before.unavailable === 0, `before: ${JSON.stringify(before)}`);
      assert.deepEqual([down.granted, down.other], [0, []], `while down: ${JSON.stringify(down)}`);
      assert.ok(down.unavailable > 0);
      assert.ok(after.granted > 0 && after.other.length === 0, `after the restart, without restarting webiso: ${JSON.stringify(after)}`);
      assert.ok((await t.app.webiso.audit.recent(500)).some((event) => event.event === 'login.unavailable'));
    } finally {
      await t.close();
      await slapd.stop();
    }
  });

  it('the KDC killed and restarted', async () => {
    const kdc = await startKdc();
    const user = DEFAULT_KDC_USERS.find((principal) => principal.password !== undefined && !principal.randkey)!;
    const t = await createTestApp({ config: testConfig({ verifier: { kind: 'kerberos', realms: [kdc.realm], servicePrincipal: kdc.servicePrincipal, keytab: kdc.keytabPath, krb5Config: kdc.krb5ConfPath, timeoutSeconds: 1 } }), users: [] });
    try {
      const before = await loginLoad(t.app, user.name, user.password!, during(600));
      await kdc.kill();
      const down = await loginLoad(t.app, user.name, user.password!, during(1500));
      await kdc.restart();
      const after = await loginLoad(t.app, user.name, user.password!, during(600));
      assert.ok(before.granted > 0 && before.unavailable === 0, `before: ${JSON.stringify(before)}`);
      assert.deepEqual([down.granted, down.other], [0, []], `while down: ${JSON.stringify(down)}`);
      assert.ok(down.unavailable > 0);
      assert.ok(after.granted > 0 && after.other.length === 0, `after the restart: ${JSON.stringify(after)}`);
    } finally {
      await t.close();
      await kdc.stop();
    }
  });
});
