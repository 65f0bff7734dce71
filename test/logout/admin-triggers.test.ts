import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { FastifyInstance } from 'fastify';
import { adminLogin, adminPage, formCsrf, jarWithMachineCookie, KIOSK, machineLoginQuery, postForm as adminPostForm } from '../support/machines.ts';
import { startLogoutReceiver, type LogoutReceiver } from '../support/logout-receiver.ts';
import { ALICE_PASSWORD, APP_RETURN, attemptLogin, CookieJar, createTestApp, HTML, testConfig, type TestApp } from '../support/webiso.ts';

const ADMIN = { name: 'root', password: 'admin correct horse battery', roles: ['admin'] };

async function sessionsOf(app: FastifyInstance, username: string): Promise<number> {
  const row = await app.webiso.store.db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('username', '=', username).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Runs the CLI against the test app's store (another process, the same SQLite file or PostgreSQL schema). */
function cli(dataDir: string, configPath: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, WEBISO_CONFIG: configPath, WEBISO_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('single logout: an admin ends an account everywhere; disabled accounts and revoked machines', () => {
  let receiver: LogoutReceiver;
  let t: TestApp;
  before(async () => {
    receiver = await startLogoutReceiver();
    const config = testConfig({
      apps: [{ id: 'app', name: 'Example App', returnUrls: [APP_RETURN], flavors: ['basic', 'machineoruser'], logout: { backchannelUrl: `${receiver.url}/bc` } }],
      machines: { mintPolicy: [{ roles: ['admin'], fqdns: ['*.kiosk.example.edu'] }] },
    });
    t = await createTestApp({ config, users: [ADMIN, { name: 'alice', password: ALICE_PASSWORD }, { name: 'bob', password: ALICE_PASSWORD }] });
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  it('"End every session" on the admin user page ends both of alice\'s browsers and tells the app for each', async () => {
    receiver.received.length = 0;
    await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    assert.equal(await sessionsOf(t.app, 'alice'), 2);
    const admin = new CookieJar();
    await adminLogin(t.app, admin, ADMIN, '/admin/users/alice');
    const page = await adminPage(t.app, admin, '/admin/users/alice');
    assert.equal(page.statusCode, 200);
    assert.equal((page.body.match(/<tr><td>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/td>/g) ?? []).length, 2, 'both live sessions are listed');
    const done = await adminPostForm(t.app, admin, '/admin/users/alice/logout', { csrf: formCsrf(page.body, '/admin/users/alice/logout')! });
    assert.equal(done.statusCode, 303);
    assert.equal(await sessionsOf(t.app, 'alice'), 0);
    const tokens = (await receiver.waitFor(2)).map((delivery) => decodeJwt(delivery.fields.logout_token!));
    assert.deepEqual(tokens.map((token) => token.sub), ['alice', 'alice']);
    assert.notEqual(tokens[0]!.sid, tokens[1]!.sid);
    assert.match((await adminPage(t.app, admin, done.headers.location as string)).body, /Every session of this account was ended/);
  });

  it('disabling an account on the admin page ends its sessions and its next login fails', async () => {
    receiver.received.length = 0;
    await attemptLogin(t.app, { username: 'bob', password: ALICE_PASSWORD });
    const admin = new CookieJar();
    await adminLogin(t.app, admin, ADMIN, '/admin/users/bob');
    const page = await adminPage(t.app, admin, '/admin/users/bob');
    await adminPostForm(t.app, admin, '/admin/users/bob/disable', { csrf: formCsrf(page.body, '/admin/users/bob/disable')! });
    assert.equal(await sessionsOf(t.app, 'bob'), 0);
    assert.equal(decodeJwt((await receiver.waitFor(1))[0]!.fields.logout_token!).sub, 'bob');
    const again = await attemptLogin(t.app, { username: 'bob', password: ALICE_PASSWORD });
    assert.equal(again.response.statusCode, 401);
  });

  it('`webiso user logout alice` from another process ends the session and delivers at once', async () => {
    receiver.received.length = 0;
    await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
    const configPath = join(t.config.dataDir, 'cli.yaml');
    writeFileSync(configPath, `issuer: https://login.example.edu\nstore: ${JSON.stringify(t.config.store)}\napps:\n  - { id: app, name: Example App, returnUrls: ['${APP_RETURN}'], logout: { backchannelUrl: '${receiver.url}/bc' } }\n`);
    const result = await cli(t.config.dataDir, configPath, ['user', 'logout', 'alice']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ended 1 session of user alice; applications told: Example App$/m);
    assert.equal(await sessionsOf(t.app, 'alice'), 0);
    assert.equal(receiver.received.length, 1, 'delivered before the command returned');
  });

  it('revoking a kiosk machine ends its machine session: the apps holding its identity are told', async () => {
    receiver.received.length = 0;
    const admin = new CookieJar();
    await adminLogin(t.app, admin, ADMIN, '/admin');
    await t.app.webiso.machines.operations.add(KIOSK, { entitlements: ['library-walk-in'] }, { name: 'test' });
    const { cookie } = await t.app.webiso.machines.operations.mint(KIOSK, 30, { name: 'test' });
    const kiosk = jarWithMachineCookie(cookie);
    const grantPage = await t.app.inject({ method: 'GET', url: `/login?${machineLoginQuery()}`, headers: { ...HTML, ...kiosk.header() } });
    assert.match(grantPage.body, /name="grant"/);
    const page = await adminPage(t.app, admin, `/admin/machines/${KIOSK}`);
    await adminPostForm(t.app, admin, `/admin/machines/${KIOSK}/revoke`, { csrf: formCsrf(page.body, `/admin/machines/${KIOSK}/revoke`)!, reason: 'stolen' });
    const token = decodeJwt((await receiver.waitFor(1))[0]!.fields.logout_token!);
    assert.deepEqual([token.kind, token.machineFQDN, token.sub], ['machine', KIOSK, undefined]);
  });
});
