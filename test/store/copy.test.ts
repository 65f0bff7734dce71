// `webiso store copy` moves a running single-host SQLite installation to PostgreSQL (issue 9):
// accounts, roles, machines and their history, keys and open alerts arrive; sessions stay behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { ADMIN, ALICE, jarWithMachineCookie, KIOSK, machineConfig, requestLogin } from '../support/machines.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { postgresStoreConfig } from '../support/test-store.ts';
import { grantOf, loginThroughForm } from '../support/webiso.ts';

let postgres: PostgresServer;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

function storeCopy(from: string, schema: string) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'store', 'copy', '--from', `sqlite:${from}`, '--to', `postgres:${postgres.url}`, '--password-file', postgres.passwordFile, '--schema', schema],
    { encoding: 'utf8', env: { ...process.env, WEBISO_CONFIG: '/nonexistent/webiso.yaml' } },
  );
}

describe('webiso store copy', () => {
  it('copies a running SQLite installation into PostgreSQL; people, kiosks and keys carry on, sessions do not', async () => {
    const sqliteConfig = machineConfig({ store: { kind: 'sqlite' } });
    const source = await buildApp(sqliteConfig, { logger: false });
    const actor = { name: 'root' };
    try {
      await source.webiso.users.add(ADMIN.name, await hashPassword(ADMIN.password), ADMIN.roles, new Date());
      await source.webiso.users.add(ALICE.name, await hashPassword(ALICE.password), ['staff'], new Date());
      await source.webiso.machines.operations.add(KIOSK, { location: 'Main library', networks: ['10.1.0.0/16'] }, actor);
      await source.webiso.machines.operations.mint(KIOSK, 30, actor);
      await source.webiso.machines.operations.revoke(KIOSK, actor, 'rehearsal');
      const { cookie } = await source.webiso.machines.operations.mint(KIOSK, 30, actor);
      // a sighting from outside the kiosk's networks opens an alert
      const outside = await requestLogin(source, jarWithMachineCookie(cookie), {}, { remoteAddress: '192.0.2.7' });
      assert.ok(outside.response.statusCode < 500);
      const { jar } = await loginThroughForm(source);
      const sourceJwks = (await source.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Array<{ kid: string }> };
      const sourceEvents = await source.webiso.machines.repository.events(KIOSK);
      const openAlerts = await source.webiso.machines.alerts.list('open');

      // the source keeps running while it is copied
      const copied = storeCopy(join(sqliteConfig.dataDir, 'webiso.db'), 'copied');
      assert.equal(copied.status, 0, `store copy failed: ${copied.stderr}`);
      assert.match(copied.stdout, /users\s+2/);

      const target = await buildApp({ ...sqliteConfig, store: postgresStoreConfig(postgres, 'copied') }, { logger: false });
      try {
        const login = await loginThroughForm(target);
        assert.ok(grantOf(login.response.body), 'alice logs in with her old password');
        assert.deepEqual(await target.webiso.users.rolesOf('alice'), ['staff']);
        // before the kiosk shows up again (its return from elsewhere may raise an alert of its own)
        const targetAlerts = await target.webiso.machines.alerts.list('open');
        assert.ok(openAlerts.length >= 1);
        assert.deepEqual(targetAlerts.map((alert) => alert.rule), openAlerts.map((alert) => alert.rule), 'the open alert came along');
        const kiosk = await requestLogin(target, jarWithMachineCookie(cookie), {}, { remoteAddress: '10.1.2.3' });
        assert.deepEqual([kiosk.claims?.kind, kiosk.claims?.machineFQDN], ['machine', KIOSK], 'the kiosk cookie minted before the move is still accepted');
        const targetJwks = (await target.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Array<{ kid: string }> };
        assert.deepEqual(targetJwks.keys.map((key) => key.kid).sort(), sourceJwks.keys.map((key) => key.kid).sort(), 'the same keys are published');
        const targetEvents = await target.webiso.machines.repository.events(KIOSK);
        assert.deepEqual(targetEvents.slice(-sourceEvents.length).map((event) => event.action), sourceEvents.map((event) => event.action));
        const sso = await target.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'app', return: 'https://app.example.edu/webiso/callback', flavor: 'basic', nonce: 'n' })}`, headers: { accept: 'text/html', ...jar.header() } });
        assert.equal(grantOf(sso.body), undefined, 'an SSO session of the old installation is not honoured');
      } finally {
        await target.close();
      }

      const again = storeCopy(join(sqliteConfig.dataDir, 'webiso.db'), 'copied');
      assert.equal(again.status, 1, 'a second copy into a store that holds data is refused');
      assert.match(again.stderr, /already holds rows/);
    } finally {
      await source.close();
    }
  });
});
