// Housekeeping on every host (issue 9): each job is done by the host holding its lease, so two
// hosts sharing one store never purge twice, and a failing job is logged, never fatal.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { housekeepingRound } from '../../src/server.ts';
import { testConfig } from '../support/webiso.ts';

const SUBJECT = { kind: 'user', username: 'alice', roles: [], amr: ['pwd'], authTime: 0 } as const;

/** The jobs this test's rows exercise (retention is off by default: it does nothing and says so). */
const ROW_JOBS = ['cas-ticket-purge', 'throttle-purge', 'oidc-purge'];

async function seedExpiredRows(app: FastifyInstance, nowSeconds: number): Promise<void> {
  await app.webiso.casTickets.save('expired-ticket-hash', { appId: 'app', service: 'https://cas.example.edu/', subject: SUBJECT, flavor: 'basic', fromNewLogin: true, sid: 'sid-1', createdAt: nowSeconds - 600, expiresAt: nowSeconds - 300 });
  await app.webiso.casTickets.save('live-ticket-hash', { appId: 'app', service: 'https://cas.example.edu/', subject: SUBJECT, flavor: 'basic', fromNewLogin: true, sid: 'sid-1', createdAt: nowSeconds, expiresAt: nowSeconds + 300 });
  await app.webiso.store.db
    .insertInto('oidc_models')
    .values([
      { model: 'AccessToken', id: 'expired', payload: '{}', grant_id: null, uid: null, user_code: null, expires_at: nowSeconds - 1, consumed_at: null },
      { model: 'AccessToken', id: 'live', payload: '{}', grant_id: null, uid: null, user_code: null, expires_at: nowSeconds + 600, consumed_at: null },
    ])
    .execute();
}

describe('housekeeping', () => {
  it('two hosts on one store: every job is done once per round, by one of them, and the expired rows are gone', async () => {
    const config = testConfig();
    const a = await buildApp(config, { logger: false });
    const b = await buildApp(config, { logger: false });
    try {
      const now = Math.floor(Date.now() / 1000);
      await seedExpiredRows(a, now);
      const [onA, onB] = await Promise.all([housekeepingRound(a, 'host-a'), housekeepingRound(b, 'host-b')]);
      const expected = [...ROW_JOBS, ...(a.webiso.store.sqlite ? ['sqlite-checkpoint'] : [])].sort();
      assert.deepEqual([...onA, ...onB].sort(), expected, `each job once: A did ${onA.join(',')}, B did ${onB.join(',')}`);
      assert.equal(await b.webiso.casTickets.consume('expired-ticket-hash'), undefined, 'the expired ticket was purged');
      assert.equal((await b.webiso.casTickets.consume('live-ticket-hash'))?.appId, 'app', 'a live ticket stays');
      const oidcRows = await b.webiso.store.db.selectFrom('oidc_models').select('id').execute();
      assert.deepEqual(oidcRows.map((row) => row.id), ['live']);

      // within the leases the other host does nothing; the holder renews its own
      const holderOf = (job: string) => (onA.includes(job) ? { holder: a, name: 'host-a', other: b, otherName: 'host-b' } : { holder: b, name: 'host-b', other: a, otherName: 'host-a' });
      const first = holderOf('cas-ticket-purge');
      assert.ok(!(await housekeepingRound(first.other, first.otherName)).includes('cas-ticket-purge'), 'the other host leaves the leased job alone');
      assert.ok((await housekeepingRound(first.holder, first.name)).includes('cas-ticket-purge'), 'the holder does it again next round');
    } finally {
      await a.close();
      await b.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    }
  });

  it('a job that fails is logged as housekeeping.failed and the round still resolves', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const config = testConfig({ logLevel: 'info' });
    const app = await buildApp(config, { logStream });
    try {
      await app.ready();
      await app.webiso.store.close();
      assert.deepEqual(await housekeepingRound(app, 'host-a'), [], 'nothing done, nothing thrown');
      const failed = lines.map((line) => JSON.parse(line) as { event?: string; job?: string }).filter((line) => line.event === 'housekeeping.failed');
      assert.ok(failed.some((line) => line.job === 'cas-ticket-purge'), `logged: ${JSON.stringify(failed)}`);
    } finally {
      await app.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    }
  });
});
