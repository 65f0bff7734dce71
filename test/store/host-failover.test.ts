// Two served webiso hosts on one PostgreSQL; one is killed with SIGKILL under load (issue 9). The
// other keeps serving, and nothing either host acknowledged (audit rows, sessions) is lost.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOAD_APPS, lostWork, mixedLoad, nothingAcknowledged, PASSWORD } from '../support/acknowledged-load.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { openServedStore, startServedWebiso, writeServedConfig } from '../support/served-webiso.ts';
import { postgresStoreConfig } from '../support/test-store.ts';

let postgres: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), 'webiso-failover-'));
const children: ChildProcess[] = [];
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('two hosts, one killed', () => {
  it('the surviving host keeps serving and no acknowledged audit row or session of either host is lost', async () => {
    const store = postgresStoreConfig(postgres, 'failover');
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    const configA = await writeServedConfig(join(dir, 'a'), LOAD_APPS, ['alice'], PASSWORD, store);
    const configB = await writeServedConfig(join(dir, 'b'), LOAD_APPS, [], PASSWORD, store);
    const [hostA, hostB] = await Promise.all([startServedWebiso(configA), startServedWebiso(configB)]);
    children.push(hostA.child, hostB.child);

    const onA = nothingAcknowledged();
    const onB = nothingAcknowledged();
    const loadA = mixedLoad(hostA.url, onA);
    const loadB = mixedLoad(hostB.url, onB);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    hostA.child.kill('SIGKILL');
    await once(hostA.child, 'exit');
    await loadA;
    const grantsOnBAtKill = onB.grants.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(onB.grants.length > grantsOnBAtKill + 5, `host B kept answering after host A died (${grantsOnBAtKill} → ${onB.grants.length} grants)`);
    hostB.child.kill('SIGTERM');
    await once(hostB.child, 'exit');
    await loadB;
    assert.ok(onA.grants.length > 10 && onA.sessions.length > 2, `enough load on host A: ${onA.grants.length} grants, ${onA.sessions.length} logins`);

    const opened = await openServedStore(configB);
    try {
      for (const [host, acknowledged] of [['A', onA], ['B', onB]] as const) {
        const lost = await lostWork(opened, acknowledged);
        assert.deepEqual(lost.grants, [], `no grant host ${host} acknowledged lost its audit row`);
        assert.deepEqual(lost.sessions, [], `no login host ${host} acknowledged lost its session`);
      }
    } finally {
      await opened.close();
    }
  });
});
