import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { openSqliteStore } from '../../src/store/store.ts';

const MAIN = join(process.cwd(), 'src', 'cli', 'main.ts');
const PARALLEL = 20;

let scratch: string;
let configPath: string;
let dataDir: string;

interface Run {
  readonly code: number | null;
  readonly stderr: string;
}

function webiso(args: string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, WEBISO_CONFIG: configPath }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(stdin);
  });
}

const CONFIG = () => ({
  issuer: 'https://login.example.edu',
  dataDir,
  logLevel: 'silent',
  apps: [{ id: 'app', name: 'App', returnUrls: ['https://app.example.edu/cb'] }],
});

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'webiso-cli-concurrency-'));
  dataDir = join(scratch, 'data');
  configPath = join(scratch, 'webiso.json');
  writeFileSync(configPath, JSON.stringify(CONFIG()));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('concurrent CLI commands on one data directory', () => {
  it(`${PARALLEL} parallel writes on a brand-new database all succeed, beside a server that writes too`, { timeout: 240_000 }, async () => {
    // Half add machines (transactions), half add users (argon2 between a read and a write); all
    // of them open a database that may still be new and run the migrations.
    const runs = Array.from({ length: PARALLEL }, (_, index) =>
      index % 2 === 0 ? webiso(['machine', 'add', `k${index}.kiosk.example.edu`, '--by', 'test']) : webiso(['user', 'add', `user${index}`], 'concurrent-password\n'),
    );
    // A server on the same file writes all the while, as `webiso serve` would.
    let settled = false;
    void Promise.all(runs).then(() => (settled = true));
    const app = await buildApp(parseConfig(CONFIG()), { logger: false });
    let serverWrites = 0;
    try {
      while (!settled) {
        await app.webiso.machines.operations.add(`s${serverWrites}.server.example.edu`, {}, { name: 'server' });
        serverWrites += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await app.close();
    }
    const results = await Promise.all(runs);
    const failures = results.filter((result) => result.code !== 0).map((result) => result.stderr.trim());
    assert.deepEqual(failures, [], 'no "database is locked", no half-applied migration');
    assert.ok(serverWrites > PARALLEL, `the server wrote while the CLIs ran (${serverWrites} writes)`);

    // what the CLIs and the server wrote, read back from the shared SQLite file
    const store = openSqliteStore(join(dataDir, 'webiso.db'));
    try {
      const machines = (suffix: string) => store.db.selectFrom('machines').select((eb) => eb.fn.countAll<number>().as('n')).where('fqdn', 'like', `%${suffix}`).executeTakeFirstOrThrow();
      assert.equal(Number((await machines('.kiosk.example.edu')).n), PARALLEL / 2);
      assert.equal(Number((await machines('.server.example.edu')).n), serverWrites);
      assert.equal(Number((await store.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), PARALLEL / 2);
      const applied = (await store.db.selectFrom('schema_migrations').select('version').orderBy('version').execute()).map((row) => row.version);
      assert.deepEqual(applied, [...new Set(applied)], 'each migration applied once');
    } finally {
      await store.close();
    }
  });
});
