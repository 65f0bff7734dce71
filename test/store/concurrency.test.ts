// The atomic rules of issue 9 under real concurrency: two hosts, one PostgreSQL, many requests at
// the same instant. Single-use means one success; compare-and-set means no version handed out twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { MachineVersionConflictError } from '../../src/machines/errors.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { casConfig, casLogin, parseCasXml, SERVICE, validate } from '../support/cas.ts';
import { ADMIN, ALICE, KIOSK } from '../support/machines.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { postgresStoreConfig } from '../support/test-store.ts';

let postgres: PostgresServer;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

async function twoHosts(schema: string): Promise<[FastifyInstance, FastifyInstance]> {
  const config = casConfig({ store: postgresStoreConfig(postgres, schema) });
  const a = await buildApp(config, { logger: false });
  const b = await buildApp(config, { logger: false });
  for (const user of [ADMIN, { ...ALICE, roles: [] as string[] }]) await a.webiso.users.add(user.name, await hashPassword(user.password), user.roles, new Date());
  return [a, b];
}

describe('concurrency across two hosts', () => {
  it('200 concurrent redemptions of one CAS ticket on two hosts give exactly one success', async () => {
    const [a, b] = await twoHosts('conc_ticket');
    try {
      const { ticket } = await casLogin(a);
      assert.ok(ticket);
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => validate(i % 2 === 0 ? a : b, '/cas/p3/serviceValidate', { service: SERVICE, ticket })));
      assert.deepEqual([...new Set(answers.map((answer) => answer.statusCode))], [200], 'every answer is a CAS answer, none a 5xx');
      const parsed = answers.map((answer) => parseCasXml(answer.body));
      assert.equal(parsed.filter((answer) => answer.user === 'alice').length, 1, 'exactly one validation succeeds');
      assert.equal(parsed.filter((answer) => answer.failureCode === 'INVALID_TICKET').length, 199);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('50 concurrent mints of one machine on two hosts: one new version per success, never two cookies with one version', async () => {
    const [a, b] = await twoHosts('conc_mint');
    try {
      const actor = { name: 'root' };
      await a.webiso.machines.operations.add(KIOSK, {}, actor);
      const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).webiso.machines.operations.mint(KIOSK, 30, actor)));
      const minted = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      assert.ok(minted.length >= 1, 'at least one mint succeeds');
      for (const error of refused) assert.ok(error instanceof MachineVersionConflictError, `a refused mint is a version conflict, not ${String(error)}`);
      const versions = minted.map((mint) => mint.claims.ver);
      assert.equal(new Set(versions).size, versions.length, 'no two cookies share a version');
      const machine = await b.webiso.machines.repository.find(KIOSK);
      assert.equal(machine?.version, minted.length, 'the version moved exactly once per successful mint');
      assert.deepEqual([...versions].sort((x, y) => x - y), Array.from({ length: minted.length }, (_, i) => i + 1));
      const mintEvents = (await a.webiso.machines.repository.events(KIOSK)).filter((event) => event.action === 'mint');
      assert.equal(mintEvents.length, minted.length, 'one history row per successful mint');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
