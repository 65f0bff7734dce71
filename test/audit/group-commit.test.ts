import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyBaseLogger } from 'fastify';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import pino from 'pino';
import { createAuditLog, type AuditLog } from '../../src/audit/auth-events.ts';
import { isStoreUnavailable } from '../../src/store/unavailable.ts';
import { ALICE_PASSWORD, attemptLogin, countRows, createTestApp, type TestApp } from '../support/webiso.ts';

const QUIET = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;

/** Counts the INSERTs into auth_events that reach the store, and can make them fail as a busy store does. */
class AuditInserts implements KyselyPlugin {
  statements = 0;
  failing = false;
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    if (node.kind === 'InsertQueryNode' && node.into?.table.identifier.name === 'auth_events') {
      this.statements += 1;
      if (this.failing) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    }
    return node;
  }
  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result;
  }
}

function auditOver(t: TestApp, inserts: AuditInserts): AuditLog {
  return createAuditLog(t.app.webiso.store.db.withPlugin(inserts), t.app.webiso.now);
}

describe('audit group commit', () => {
  it('the rows of one event-loop turn are one INSERT; committed() resolves once they are stored', async () => {
    const t = await createTestApp({ users: [] });
    try {
      const inserts = new AuditInserts();
      const audit = auditOver(t, inserts);
      await audit.committed(); // nothing recorded: resolves at once
      for (const username of ['a', 'b', 'c']) audit.record({ event: 'login.failure', username }, QUIET);
      assert.equal(await countRows(t.app, 'auth_events'), 0, 'not written within the turn');
      await audit.committed();
      assert.equal(inserts.statements, 1);
      assert.equal(await countRows(t.app, 'auth_events', { event: 'login.failure' }), 3);
      audit.record({ event: 'logout', username: 'a' }, QUIET);
      await audit.committed();
      assert.equal(inserts.statements, 2, 'the next turn is its own batch');
      assert.deepEqual((await audit.recent(4)).map((row) => row.username), ['a', 'c', 'b', 'a']);
    } finally {
      await t.close();
    }
  });

  it('a failed commit rejects the waiters of its batch; the next batch is written again', async () => {
    const t = await createTestApp({ users: [] });
    try {
      const inserts = new AuditInserts();
      const audit = auditOver(t, inserts);
      inserts.failing = true;
      audit.record({ event: 'login.failure', username: 'lost' }, QUIET);
      const waiting = [audit.committed(), audit.committed()];
      for (const waiter of waiting) await assert.rejects(waiter, (error: unknown) => isStoreUnavailable(error));
      inserts.failing = false;
      audit.record({ event: 'login.failure', username: 'kept' }, QUIET);
      await audit.flush();
      assert.deepEqual((await audit.recent(5)).map((row) => row.username), ['kept']);
    } finally {
      await t.close();
    }
  });

  it('a response whose audit rows could not be committed is not acknowledged: 503, try again later', async () => {
    const t = await createTestApp();
    try {
      const inserts = new AuditInserts();
      // the app's onSend hook waits on services.audit: put a failing one in its place
      (t.app.webiso as { audit: AuditLog }).audit = auditOver(t, inserts);
      inserts.failing = true;
      const { response } = await attemptLogin(t.app, { username: 'alice', password: 'not the password' });
      assert.equal(response.statusCode, 503);
      assert.equal(response.headers['retry-after'], '30');
      inserts.failing = false;
      assert.equal((await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD })).response.statusCode, 200);
    } finally {
      await t.close();
    }
  });
});
