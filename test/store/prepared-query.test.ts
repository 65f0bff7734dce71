// Queries compiled once per engine (src/store/prepared-query.ts), on a real SQLite file and a real
// PostgreSQL: the same rows as the query built per call, constants kept, transactions included.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kysely } from 'kysely';
import { prepareQuery, type Param } from '../../src/store/prepared-query.ts';
import { WebisoSqliteDialect } from '../../src/store/sqlite-dialect.ts';
import { openSqliteStore, openStore, type Store } from '../../src/store/store.ts';
import type { Tables } from '../../src/store/tables.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { postgresStoreConfig } from '../support/test-store.ts';

let postgres: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), 'webiso-prepared-'));
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const session = (idHash: string, username: string) => ({ id_hash: idHash, sid: `sid-${idHash}`, username, roles: '[]', amr: '["pwd"]', verifier: 'local', auth_time: 1, created_at: 1, last_seen_at: 1, idle_seconds: 60, absolute_expires_at: 100, client_ip: null });

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`prepared queries on ${engine}`, () => {
    let store: Store;
    let builds = 0;
    // a constant (the limit) among the named parameters, and two of them
    const ofUser = prepareQuery((db, param: Param<{ username: string; after: string }>) => {
      builds += 1;
      return db.selectFrom('sessions').select(['id_hash', 'username']).where('username', '=', param('username')).where('id_hash', '>', param('after')).orderBy('id_hash').limit(2);
    });
    const insert = prepareQuery((db, param: Param<{ idHash: string; username: string }>) => db.insertInto('sessions').values({ ...session('', ''), id_hash: param('idHash'), sid: param('idHash'), username: param('username') }));

    before(async () => {
      store = engine === 'sqlite' ? openSqliteStore(join(dir, 'prepared.db')) : await openStore({ store: postgresStoreConfig(postgres, 'prepared_query'), dataDir: dir });
      await store.db.insertInto('sessions').values([session('a', 'alice'), session('b', 'alice'), session('c', 'alice'), session('d', 'bob')]).execute();
    });
    after(() => store.close());

    it('gives the rows the built query gives, compiling once for the store and its transactions', async () => {
      const built = await store.db.selectFrom('sessions').select(['id_hash', 'username']).where('username', '=', 'alice').where('id_hash', '>', 'a').orderBy('id_hash').limit(2).execute();
      const before = builds;
      assert.deepEqual((await ofUser(store.db, { username: 'alice', after: 'a' })).rows, built);
      assert.deepEqual((await ofUser(store.db, { username: 'alice', after: 'b' })).rows, [{ id_hash: 'c', username: 'alice' }]);
      const inTransaction = await store.transaction(async (trx) => {
        await insert(trx, { idHash: 'e', username: 'bob' });
        return (await ofUser(trx, { username: 'bob', after: '' })).rows;
      });
      assert.deepEqual(inTransaction, [{ id_hash: 'd', username: 'bob' }, { id_hash: 'e', username: 'bob' }]);
      assert.ok(builds - before <= 1, `built ${builds - before} times for three calls on one engine`);
    });

    it('rolls back with its transaction, and refuses a missing value instead of binding undefined', async () => {
      await assert.rejects(
        store.transaction(async (trx) => {
          await insert(trx, { idHash: 'f', username: 'carol' });
          throw new Error('abandon');
        }),
        /abandon/,
      );
      assert.deepEqual((await ofUser(store.db, { username: 'carol', after: '' })).rows, []);
      await assert.rejects(ofUser(store.db, { username: 'alice' } as { username: string; after: string }), /no value for after/);
    });
  });
}

describe('prepared queries on a Kysely instance no store registered', () => {
  it('builds the query for it on each call, with the values', async () => {
    const store = openSqliteStore(join(dir, 'unregistered.db'));
    try {
      await store.db.insertInto('sessions').values(session('z', 'zoe')).execute();
      // a second Kysely over the same dialect: unknown to the engine registry
      const other = new Kysely<Tables>({ dialect: new WebisoSqliteDialect(store.sqlite!) });
      let builds = 0;
      const byName = prepareQuery((db, param: Param<{ username: string }>) => {
        builds += 1;
        return db.selectFrom('sessions').select('id_hash').where('username', '=', param('username'));
      });
      assert.deepEqual((await byName(other, { username: 'zoe' })).rows, [{ id_hash: 'z' }]);
      assert.deepEqual((await byName(other, { username: 'zoe' })).rows, [{ id_hash: 'z' }]);
      assert.equal(builds, 2);
    } finally {
      await store.close();
    }
  });
});
