// PostgreSQL stopped under load (issue 9): /readyz fails, login pages answer 503 "try again later"
// (never a 500 storm, never a success without a stored session), and everything recovers without
// a restart when PostgreSQL comes back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { buildApp } from '../../src/app.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { postgresStoreConfig } from '../support/test-store.ts';
import { ALICE_PASSWORD, CookieJar, grantOf, HTML, loginQuery, loginThroughForm, testConfig } from '../support/webiso.ts';

let postgres: PostgresServer;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

interface Seen {
  statuses: Map<number, number>;
  /** sids of grants answered with a 200 */
  grantedSids: Set<string>;
}

/** SSO redirects and password logins until `stop` says so; records every status and every granted sid. */
async function load(app: FastifyInstance, seen: Seen, stop: () => boolean): Promise<void> {
  const sso = async () => {
    const { jar } = await loginThroughForm(app);
    while (!stop()) {
      const response = await app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: { ...HTML, ...jar.header() } });
      seen.statuses.set(response.statusCode, (seen.statuses.get(response.statusCode) ?? 0) + 1);
      const grant = grantOf(response.body);
      if (response.statusCode === 200 && grant) seen.grantedSids.add(String(decodeJwt(grant).sid));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const passwords = async () => {
    while (!stop()) {
      const { response } = await loginThroughForm(app, { jar: new CookieJar(), password: ALICE_PASSWORD });
      seen.statuses.set(response.statusCode, (seen.statuses.get(response.statusCode) ?? 0) + 1);
      const grant = grantOf(response.body);
      if (response.statusCode === 200 && grant) seen.grantedSids.add(String(decodeJwt(grant).sid));
    }
  };
  await Promise.all([sso(), sso(), sso(), passwords()]);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

describe('PostgreSQL outage', () => {
  it('answers 503 while PostgreSQL is down and recovers by itself when it returns', async () => {
    const app = await buildApp(testConfig({ store: postgresStoreConfig(postgres, 'outage'), throttle: { maxFailuresPerAccount: 100 }, loopGuard: { maxAnswers: 0 } }), { logger: false });
    try {
      await app.webiso.users.add('alice', await hashPassword(ALICE_PASSWORD), [], new Date());
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);

      const before: Seen = { statuses: new Map(), grantedSids: new Set() };
      let phase: 'up' | 'down' | 'done' = 'up';
      const running = load(app, before, () => phase === 'done');
      await new Promise((resolve) => setTimeout(resolve, 500));

      await postgres.pause();
      phase = 'down';
      const downSince = Date.now();
      const readyz = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(readyz.statusCode, 503, '/readyz fails while PostgreSQL is stopped');
      assert.ok(Date.now() - downSince < 3000, '/readyz answers quickly, not after a connect timeout');
      assert.equal((readyz.json() as { checks?: { database?: { ok?: boolean } } }).checks?.database?.ok, false);
      // a browser asking now sees the "try again later" page
      const page = await loginThroughForm(app, { jar: new CookieJar() });
      assert.equal(page.response.statusCode, 503);
      assert.match(page.response.body, /try again/i);
      await new Promise((resolve) => setTimeout(resolve, 1500));

      await postgres.resume();
      const recoveredIn = await waitFor(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 15_000, '/readyz recovering');
      const fresh = await loginThroughForm(app, { jar: new CookieJar() });
      assert.equal(fresh.response.statusCode, 200, 'a password login works again without a restart');
      assert.ok(grantOf(fresh.response.body));
      phase = 'done';
      await running;

      const counts = Object.fromEntries(before.statuses);
      assert.deepEqual(
        [...before.statuses.keys()].filter((status) => status >= 500 && status !== 503),
        [],
        `no 5xx other than 503 during the outage: ${JSON.stringify(counts)}`,
      );
      assert.ok((before.statuses.get(503) ?? 0) > 0, `the outage was seen as 503s: ${JSON.stringify(counts)}`);
      // every grant a browser received names a session that is in the database
      for (const sid of before.grantedSids) {
        const row = await app.webiso.store.db.selectFrom('sessions').select('sid').where('sid', '=', sid).executeTakeFirst();
        assert.ok(row, `the session ${sid} behind an acknowledged grant was stored`);
      }
      console.log(`postgres outage: ${JSON.stringify(counts)}, recovered ${recoveredIn} ms after PostgreSQL returned`);
    } finally {
      await app.close();
    }
  });
});
