import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getOrCreateSecret } from '../../src/db/secrets.ts';
import { createThrottleRepository } from '../../src/db/throttle.ts';
import { createUsersRepository } from '../../src/db/users.ts';
import { countRows, createTestApp } from '../support/webiso.ts';

/** State every host of one store shares: several repositories over one store stand in for the hosts. */
describe('login state shared by hosts', () => {
  it('failed logins recorded by several hosts at once are all counted, within the window only', async () => {
    const t = await createTestApp({ users: [] });
    try {
      const hosts = [1, 2, 3].map(() => createThrottleRepository(t.app.webiso.store.db));
      await Promise.all(Array.from({ length: 30 }, (_, i) => hosts[i % 3]!.recordFailure('alice', '192.0.2.7', 1000 + (i % 2))));
      for (const host of hosts) {
        assert.equal(await host.failuresSince('account', 'alice', 999), 30);
        assert.equal(await host.failuresSince('ip', '192.0.2.7', 999), 30);
        assert.equal(await host.failuresSince('account', 'alice', 1000), 15, 'only failures after the window start');
        assert.equal(await host.failuresSince('account', 'bob', 0), 0);
      }
      assert.equal(await hosts[0]!.purgeBefore(1000), 30, 'one account row and one IP row per failure at 1000');
      assert.equal(await countRows(t.app, 'login_failures'), 30);
    } finally {
      await t.close();
    }
  });

  it('two hosts creating a server secret at once both get the one stored', async () => {
    const t = await createTestApp({ users: [] });
    try {
      const db = t.app.webiso.store.db;
      const [first, second] = await Promise.all([getOrCreateSecret(db, 'test-shared'), getOrCreateSecret(db, 'test-shared')]);
      assert.equal(first.length, 32);
      assert.ok(first.equals(second));
      assert.ok((await getOrCreateSecret(db, 'test-shared')).equals(first), 'later starts read it too');
      assert.ok(!(await getOrCreateSecret(db, 'test-other')).equals(first));
    } finally {
      await t.close();
    }
  });

  it('an account is added with its roles or not at all; roles granted twice are one row', async () => {
    const t = await createTestApp({ users: [] });
    try {
      const users = createUsersRepository(t.app.webiso.store.db);
      await users.add('carol', 'hash-1', ['admin', 'admin', 'librarian'], new Date());
      await assert.rejects(users.add('carol', 'hash-2', ['other'], new Date()));
      assert.deepEqual(await users.rolesOf('carol'), ['admin', 'librarian'], 'the refused second add left no role behind');
      assert.equal((await users.find('carol'))?.passwordHash, 'hash-1');
      await users.grantRole('carol', 'admin');
      assert.equal(await users.revokeRole('carol', 'librarian'), true);
      assert.equal(await users.revokeRole('carol', 'librarian'), false);
      assert.deepEqual(await users.list(), [{ username: 'carol', disabled: false, roles: ['admin'], createdAt: (await users.find('carol'))!.createdAt }]);
    } finally {
      await t.close();
    }
  });
});
