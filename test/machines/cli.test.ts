import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { runCli } from '../../src/cli/main.ts';
import { parseConfig } from '../../src/config/load.ts';
import { CookieJar, HTML, hiddenField } from '../support/webiso.ts';
import { FORM, jarWithMachineCookie, requestLogin } from '../support/machines.ts';

const ISSUER = 'https://login.example.edu';
const KIOSK = 'k7.kiosk.example.edu';

let scratch: string;
let dataDir: string;

const CONFIG = (dir: string) => ({
  issuer: ISSUER,
  dataDir: dir,
  logLevel: 'silent',
  apps: [{ id: 'app', name: 'Example App', returnUrls: ['https://app.example.edu/webiso/callback'], flavors: ['basic', 'machineoruser'] }],
  machines: { maxLifetimeDays: 90, mintPolicy: [{ roles: ['admin'], fqdns: ['*.kiosk.example.edu'] }] },
});

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `webiso ARGS` in this process (real commander, real SQLite file), capturing what it prints. */
async function webiso(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...parts: unknown[]) => void out.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void err.push(parts.join(' '));
  try {
    const code = await runCli(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** The login server on the same database file, as `webiso serve` would run beside the CLI. */
async function withServer<T>(fn: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const app = await buildApp(parseConfig(CONFIG(dataDir)), { logger: false });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

describe('webiso machine (CLI)', () => {
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'webiso-machine-cli-'));
    dataDir = join(scratch, 'data');
    const configPath = join(scratch, 'webiso.yaml');
    writeFileSync(configPath, JSON.stringify(CONFIG(dataDir)));
    process.env.WEBISO_CONFIG = configPath;
  });
  after(() => {
    delete process.env.WEBISO_CONFIG;
    rmSync(scratch, { recursive: true, force: true });
  });

  it('add, list and show', async () => {
    const added = await webiso('machine', 'add', KIOSK.toUpperCase(), '--location', 'Reading room', '--network', '10.7.0.0/16', '--entitlement', 'library-walk-in', '--by', 'carol');
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /^added machine k7\.kiosk\.example\.edu \(version 0\)/);
    const list = await webiso('machine', 'list', '--json');
    const rows = JSON.parse(list.out) as Array<{ fqdn: string; version: number; networks: string[]; entitlements: string[]; createdBy: string }>;
    assert.deepEqual(rows.map((row) => [row.fqdn, row.version, row.networks, row.entitlements, row.createdBy]), [[KIOSK, 0, ['10.7.0.0/16'], ['library-walk-in'], 'carol']]);
    const show = await webiso('machine', 'show', KIOSK);
    assert.match(show.out, /history:\n {2}WHEN\tACTION\tVERSION\tBY\tFROM\tREASON\tDETAIL\n {2}\d{4}-\d\d-\d\d \d\d:\d\d UTC\tadd\t0\tcarol/);
    assert.match(show.out, /location: Reading room/);
  });

  it('refuses bad input with a message and exit status 1, writing nothing', async () => {
    for (const args of [
      ['machine', 'add', 'bad_name.example.edu'],
      ['machine', 'add', 'k8.kiosk.example.edu', '--network', 'everywhere'],
      ['machine', 'add', KIOSK],
      ['machine', 'revoke', 'nobody.kiosk.example.edu'],
      ['machine', 'enroll', KIOSK, '--days', '91'],
      ['machine', 'invalidate-before', 'tomorrow'],
      ['machine', 'sightings', KIOSK, '--limit', '0'],
    ]) {
      const run = await webiso(...args);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.out}`);
      assert.match(run.err, /^webiso: /);
    }
    const rows = JSON.parse((await webiso('machine', 'list', '--json')).out) as unknown[];
    assert.equal(rows.length, 1);
    assert.equal((await webiso('machine', 'frobnicate')).code, 2, 'an unknown command is a usage error, not a crash');
  });

  it('enroll prints a one-time URL that installs the cookie once, in whichever browser opens it', async () => {
    const run = await webiso('machine', 'enroll', KIOSK, '--days', '30', '--by', 'carol');
    assert.equal(run.code, 0, run.err);
    const url = run.out.trim();
    assert.match(url, new RegExp(`^${ISSUER}/machines/enroll/[A-Za-z0-9_-]{43}$`));
    assert.match(run.err, /works once/);
    const path = new URL(url).pathname;
    await withServer(async (app) => {
      const jar = new CookieJar();
      const page = await app.inject({ method: 'GET', url: path, headers: HTML });
      jar.store(page);
      const confirm = () => app.inject({ method: 'POST', url: path, headers: { ...HTML, ...jar.header(), ...FORM }, payload: new URLSearchParams({ csrf: hiddenField(page.body, 'csrf') ?? '' }).toString() });
      const [first, second] = await Promise.all([confirm(), confirm()]);
      assert.deepEqual([first.statusCode, second.statusCode].sort(), [200, 410], 'two racing redemptions: exactly one wins');
      jar.store(first.statusCode === 200 ? first : second);
      const grant = await requestLogin(app, jar, {}, { remoteAddress: '10.7.1.2' });
      assert.equal(grant.claims?.machineFQDN, KIOSK);
      await requestLogin(app, jar, {}, { remoteAddress: '198.51.100.4' });
    });
    const show = JSON.parse((await webiso('machine', 'show', KIOSK, '--json')).out) as { machine: { version: number; setBy: string }; events: Array<{ action: string }> };
    assert.equal(show.machine.version, 1);
    assert.equal(show.machine.setBy, 'carol (enrollment)');
    assert.deepEqual(show.events.map((event) => event.action).slice(0, 2), ['enroll_redeem', 'enroll_create']);
  });

  it('sightings lists the claimed addresses; alerts lists and closes', async () => {
    const sightings = await webiso('machine', 'sightings', KIOSK);
    assert.match(sightings.out, /addresses claimed by k7\.kiosk\.example\.edu:\n {2}ADDRESS\tNETWORK\tFIRST SEEN\tLAST SEEN\tPRESENTATIONS\tREFUSED\n {2}198\.51\.100\.4\t198\.51\.100\.0\/24\t.*\t1\t0\n {2}10\.7\.1\.2\t10\.7\.0\.0\/16/);
    assert.match(sightings.out, /recent presentations:\n {2}WHEN\tADDRESS\tAPP\tVERSION\tOUTCOME\tREASON\n.*198\.51\.100\.4\tapp\t1\taccepted/);
    const alerts = await webiso('machine', 'alerts');
    assert.match(alerts.out, /^#(\d+)\topen\tk7\.kiosk\.example\.edu\toutside_networks\t198\.51\.100\.4/m);
    const id = /^#(\d+)\topen\tk7\.kiosk\.example\.edu\toutside_networks/m.exec(alerts.out)?.[1] ?? '';
    const closed = await webiso('machine', 'alerts', '--close', id, '--by', 'carol');
    assert.match(closed.out, new RegExp(`alert #${id} \\(k7\\.kiosk\\.example\\.edu, outside_networks\\) is closed`));
    assert.doesNotMatch((await webiso('machine', 'alerts')).out, /outside_networks/);
    assert.match((await webiso('machine', 'alerts', '--all')).out, /closed/);
  });

  it('suspend, reactivate and revoke, effective for the running server at once', async () => {
    let cookie = '';
    await withServer(async (app) => {
      cookie = (await app.webiso.machines.operations.mint(KIOSK, 5, { name: 'test' })).cookie;
    });
    assert.match((await webiso('machine', 'suspend', KIOSK, '--reason', 'closing time')).out, /^suspended machine k7/);
    assert.match((await webiso('machine', 'suspend', KIOSK)).out, /^machine k7\.kiosk\.example\.edu already was suspended: nothing changed$/);
    await withServer(async (app) => assert.ok((await requestLogin(app, jarWithMachineCookie(cookie))).prompted));
    assert.match((await webiso('machine', 'reactivate', KIOSK)).out, /^reactivated machine k7/);
    await withServer(async (app) => assert.equal((await requestLogin(app, jarWithMachineCookie(cookie))).claims?.kind, 'machine'));
    assert.match((await webiso('machine', 'revoke', KIOSK, '--reason', 'image leaked')).out, /version is now 3/);
    await withServer(async (app) => assert.ok((await requestLogin(app, jarWithMachineCookie(cookie))).prompted));
  });

  it('invalidate-before: now or an ISO time, never in the future, never earlier than before', async () => {
    const earlier = await buildApp(parseConfig(CONFIG(dataDir)), { logger: false, now: () => Date.now() - 10_000 });
    const { cookie } = await earlier.webiso.machines.operations.mint(KIOSK, 5, { name: 'test' });
    await earlier.close();
    await withServer(async (app) => assert.equal((await requestLogin(app, jarWithMachineCookie(cookie))).claims?.kind, 'machine'));
    const set = await webiso('machine', 'invalidate-before', 'now', '--by', 'carol');
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /issued before \d{4}-\d{2}-\d{2} \d\d:\d\d UTC are refused/);
    await withServer(async (app) => {
      assert.ok((await requestLogin(app, jarWithMachineCookie(cookie))).prompted, 'a cookie from 10 s ago is refused');
      const global = await app.webiso.machines.repository.events('*');
      assert.deepEqual([global[0]?.action, global[0]?.actor], ['invalidate_before', 'carol']);
    });
    assert.match((await webiso('machine', 'invalidate-before', '2020-01-01T00:00:00Z')).err, /earlier would revive/);
    assert.match((await webiso('machine', 'invalidate-before', '2999-01-01T00:00:00Z')).err, /future/);
  });

  it('list --expiring and --status filter', async () => {
    await withServer(async (app) => {
      await app.webiso.machines.operations.add('k9.kiosk.example.edu', {}, { name: 'test' });
      await app.webiso.machines.operations.mint('k9.kiosk.example.edu', 80, { name: 'test' });
      await app.webiso.machines.operations.mint(KIOSK, 5, { name: 'test' });
    });
    const soon = (await webiso('machine', 'list', '--expiring', '30')).out;
    assert.match(soon, /^k7\.kiosk\.example\.edu\t/m);
    assert.doesNotMatch(soon, /k9/);
    await webiso('machine', 'suspend', 'k9.kiosk.example.edu');
    assert.match((await webiso('machine', 'list', '--status', 'suspended')).out, /^k9\.kiosk\.example\.edu\t1\tsuspended/m);
  });

  it('is reachable through the real entry point', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src', 'cli', 'main.ts'), 'machine', 'list'], { env: process.env, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^FQDN\tVERSION\tSTATUS/);
    assert.match(result.stdout, /^k7\.kiosk\.example\.edu\t\d+\tactive/m);
  });
});
