import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LOAD_APPS, lostWork, mixedLoad, nothingAcknowledged, PASSWORD } from '../support/acknowledged-load.ts';
import { openServedStore, startServedWebiso, writeServedConfig } from '../support/served-webiso.ts';

describe('durability: kill -9 under mixed load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-crash-'));
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('every acknowledged grant has its audit row, every acknowledged login its session, and the database is intact', async () => {
    const configPath = await writeServedConfig(dir, LOAD_APPS, ['alice'], PASSWORD);
    const server = await startServedWebiso(configPath);
    child = server.child;
    const acknowledged = nothingAcknowledged();
    const load = mixedLoad(server.url, acknowledged);
    await new Promise((r) => setTimeout(r, 2500));
    server.child.kill('SIGKILL');
    await once(server.child, 'exit');
    await load;
    assert.ok(acknowledged.grants.length > 10 && acknowledged.sessions.length > 2 && acknowledged.validations > 2, `enough load: ${JSON.stringify({ grants: acknowledged.grants.length, sessions: acknowledged.sessions.length, validations: acknowledged.validations })}`);

    const store = await openServedStore(configPath);
    try {
      if (store.sqlite) assert.equal(store.sqlite.pragma('integrity_check', { simple: true }), 'ok');
      const lost = await lostWork(store, acknowledged);
      assert.deepEqual(lost.grants, [], 'no acknowledged grant lost its audit row');
      assert.deepEqual(lost.sessions, [], 'no acknowledged login lost its session');
      assert.ok(lost.validationsAudited >= acknowledged.validations, `${lost.validationsAudited} validations audited for ${acknowledged.validations} acknowledged`);
    } finally {
      await store.close();
    }
  });
});
