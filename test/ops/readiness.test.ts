import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { kdcEndpoints, ldapEndpoint } from '../../src/ops/backend-probe.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { createTestApp, testConfig } from '../support/webiso.ts';

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

function closed(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const ldapConfig = (port: number, cacheSeconds: number) =>
  testConfig({ verifier: { kind: 'ldap', url: `ldap://127.0.0.1:${port}`, baseDn: 'dc=example,dc=edu' }, ops: { readiness: { backendTimeoutSeconds: 0.5, backendCacheSeconds: cacheSeconds } } });

describe('GET /healthz and /readyz', () => {
  it('healthz is liveness only: 200 while the store is closed; readyz then says 503', async () => {
    const t = await createTestApp();
    try {
      assert.deepEqual((await t.app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
      const ready = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '127.0.0.1' });
      assert.equal(ready.statusCode, 200);
      const body = ready.json() as { status: string; checks: Record<string, { ok: boolean; kind?: string }> };
      assert.equal(body.status, 'ready');
      assert.deepEqual(Object.keys(body.checks).sort(), ['backend', 'database', 'keys']);
      assert.equal(body.checks.backend?.kind, 'local');
      await t.app.webiso.store.close();
      const closed = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '127.0.0.1' });
      assert.equal(closed.statusCode, 503, closed.body);
      assert.equal((closed.json() as { checks: { database: { ok: boolean } } }).checks.database.ok, false);
      assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    } finally {
      await t.close();
    }
  });

  it('readyz says 503 within 2 s when the database takes no writes (a read-only SQLite file; a PostgreSQL table another session locked)', async () => {
    const t = await createTestApp();
    const { store } = t.app.webiso;
    let release: (() => void) | undefined;
    let locker: Store | undefined;
    try {
      assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      let locked: Promise<void> | undefined;
      if (store.sqlite) {
        store.sqlite.pragma('query_only = ON');
      } else {
        // another host's session holds the table the probe writes: the write waits, the probe gives up
        locker = await openStore(t.config);
        const held = new Promise<void>((resolve) => (release = resolve));
        let taken!: () => void;
        const lockTaken = new Promise<void>((resolve) => (taken = resolve));
        locked = locker.transaction(async (trx) => {
          await sql`LOCK TABLE housekeeping_leases IN EXCLUSIVE MODE`.execute(trx);
          taken();
          await held;
        });
        await lockTaken;
      }
      const started = Date.now();
      const refused = await t.app.inject({ method: 'GET', url: '/readyz' });
      const elapsed = Date.now() - started;
      assert.equal(refused.statusCode, 503, refused.body);
      assert.equal((refused.json() as { checks: { database: { ok: boolean } } }).checks.database.ok, false);
      assert.ok(elapsed < 2000, `answered in ${elapsed} ms`);
      store.sqlite?.pragma('query_only = OFF');
      release?.();
      await locked;
      assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready again once writes go through');
    } finally {
      release?.();
      await locker?.close();
      await t.close();
    }
  });

  it('gives other addresses the status only, without key ids or back-end addresses', async () => {
    const t = await createTestApp();
    try {
      const response = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '203.0.113.9' });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json(), { status: 'ready' });
    } finally {
      await t.close();
    }
  });

  describe('LDAP back-end', () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const cleanup of cleanups) await cleanup();
    });

    it('is ready while the directory accepts connections, 503 once it is gone (after the cache expires)', async () => {
      const { server, port } = await listen();
      const t = await createTestApp({ config: ldapConfig(port, 0.2) });
      cleanups.push(() => t.close());
      const first = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '127.0.0.1' });
      assert.equal(first.statusCode, 200, first.body);
      await closed(server);
      const cachedAnswer = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '127.0.0.1' });
      assert.equal(cachedAnswer.statusCode, 200, 'the cached result is reused within backendCacheSeconds');
      await new Promise((resolve) => setTimeout(resolve, 250));
      const down = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '127.0.0.1' });
      assert.equal(down.statusCode, 503);
      const backend = (down.json() as { checks: { backend: { ok: boolean; error: string } } }).checks.backend;
      assert.equal(backend.ok, false);
      assert.match(backend.error, new RegExp(`127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    });

    it('answers 503 within the budget for an address that never answers', async () => {
      // 192.0.2.0/24 (TEST-NET-1) is not routed: the connect neither succeeds nor is refused.
      const config = testConfig({ verifier: { kind: 'ldap', url: 'ldap://192.0.2.1:389', baseDn: 'dc=example,dc=edu' }, ops: { readiness: { backendTimeoutSeconds: 0.3 } } });
      const t = await createTestApp({ config });
      cleanups.push(() => t.close());
      const started = Date.now();
      const response = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '127.0.0.1' });
      assert.equal(response.statusCode, 503);
      assert.ok(Date.now() - started < 2000, 'bounded by backendTimeoutSeconds');
      // a sandbox may refuse the address at once instead: either way a 503 within the budget
      assert.match(response.body, /timeout|ECONNREFUSED|ENETUNREACH|EHOSTUNREACH/);
    });
  });

  it('finds the LDAP port and the realm KDCs in krb5.conf', () => {
    assert.deepEqual(ldapEndpoint('ldaps://ldap.example.edu'), { host: 'ldap.example.edu', port: 636 });
    assert.deepEqual(ldapEndpoint('ldap://[::1]:3890'), { host: '::1', port: 3890 });
    const conf = [
      '[libdefaults]',
      '  default_realm = EXAMPLE.EDU',
      '[realms]',
      '  OTHER.EDU = {',
      '    kdc = other.example.edu',
      '  }',
      '  EXAMPLE.EDU = {',
      '    kdc = 127.0.0.1:8888 # test KDC',
      '    kdc = kdc2.example.edu',
      '    admin_server = kdc.example.edu',
      '  }',
    ].join('\n');
    assert.deepEqual(kdcEndpoints(conf, 'EXAMPLE.EDU'), [
      { host: '127.0.0.1', port: 8888 },
      { host: 'kdc2.example.edu', port: 88 },
    ]);
    assert.deepEqual(kdcEndpoints(conf, 'EXAMPLEXEDU'), [], 'the dot in a realm is not a wildcard');
  });
});
