import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildCli, runCli } from '../../src/cli/main.ts';
import { createUsersRepository } from '../../src/db/users.ts';
import { openSqliteStore } from '../../src/store/store.ts';

const KIOSK = 'k1.kiosk.example.edu';
const VERSION = (JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string }).version;
const TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/;

let scratch: string;
let dataDir: string;

/** `webiso ARGS` in this process, capturing what it prints (commander's output included). */
async function webiso(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...parts: unknown[]) => void out.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void err.push(parts.join(' '));
  try {
    return { code: await runCli(args), out: out.join('\n'), err: err.join('\n') };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'webiso-cli-consistency-'));
  dataDir = join(scratch, 'data');
  const config = {
    issuer: 'https://login.example.edu',
    dataDir,
    logLevel: 'silent',
    apps: [{ id: 'app', name: 'App', returnUrls: ['https://app.example.edu/cb'] }],
    machines: { mintPolicy: [{ roles: ['kiosk-staff'], fqdns: ['*.kiosk.example.edu'] }] },
  };
  writeFileSync(join(scratch, 'webiso.yaml'), JSON.stringify(config));
  process.env.WEBISO_CONFIG = join(scratch, 'webiso.yaml');
  // the CLI's own store: the SQLite file in the data directory its config names
  mkdirSync(dataDir, { recursive: true });
  const store = openSqliteStore(join(dataDir, 'webiso.db'));
  await createUsersRepository(store.db).add('alice', 'not-a-real-hash', ['legacy-role'], new Date());
  await store.close();
});
after(() => {
  delete process.env.WEBISO_CONFIG;
  rmSync(scratch, { recursive: true, force: true });
});

describe('webiso CLI: one voice', () => {
  it('usage errors start with "webiso:" and exit 2, like every other error', async () => {
    for (const args of [['frobnicate'], ['user', 'add'], ['user', 'add', 'x', '--bogus'], ['machine', 'list', '--status'], ['machine', 'frobnicate'], ['user', 'add', 'a', 'b']]) {
      const run = await webiso(...args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.err, /^webiso: \S/, args.join(' '));
      assert.doesNotMatch(run.err, /^error:/m);
    }
    const failed = await webiso('machine', 'revoke', 'nobody.kiosk.example.edu');
    assert.deepEqual([failed.code, failed.err], [1, 'webiso: no such machine "nobody.kiosk.example.edu"']);
  });

  it('--version prints the package version', async () => {
    for (const flag of ['--version', '-V']) assert.deepEqual(await webiso(flag), { code: 0, out: `webiso ${VERSION}`, err: '' });
  });

  it('refuses unknown roles; the known ones are admin and those the configuration names', async () => {
    const typo = await webiso('user', 'add', 'bob', '--role', 'admn');
    assert.deepEqual([typo.code, typo.err], [1, 'webiso: unknown role "admn": known roles are admin, kiosk-staff (admin and the roles the configuration names)']);
    assert.match((await webiso('user', 'role', 'alice', '--add', 'auditor')).err, /^webiso: unknown role "auditor"/);
    assert.equal((await webiso('user', 'role', 'alice', '--add', 'kiosk-staff')).code, 0);
    const removed = await webiso('user', 'role', 'alice', '--remove', 'legacy-role');
    assert.deepEqual([removed.code, removed.out], [0, 'user alice has roles: kiosk-staff'], 'a role no longer named can still be removed');
    assert.match((await webiso('user', 'role', 'alice', '--remove', 'Bad Role')).err, /^webiso: invalid role "Bad Role"/);
  });

  it('the same condition is worded the same in every command', async () => {
    for (const command of ['passwd', 'disable', 'enable']) assert.equal((await webiso('user', command, 'nobody')).err, 'webiso: no such user "nobody"', command);
    assert.equal((await webiso('user', 'role', 'nobody', '--add', 'admin')).err, 'webiso: no such user "nobody"');
    for (const args of [['revoke'], ['suspend'], ['reactivate'], ['update', '--location', 'x'], ['show'], ['enroll'], ['cancel-enrollment']]) {
      const [command, ...rest] = args;
      assert.equal((await webiso('machine', command!, 'ghost.kiosk.example.edu', ...rest)).err, 'webiso: no such machine "ghost.kiosk.example.edu"', command);
    }
    assert.equal((await webiso('machine', 'add', KIOSK)).code, 0);
    assert.equal((await webiso('machine', 'add', KIOSK.toUpperCase())).err, `webiso: machine "${KIOSK}" already exists`);
    assert.match((await webiso('machine', 'add', 'bad_name')).err, /^webiso: invalid machine name "bad_name": /);
    const invalidOptions: Array<[string[], RegExp]> = [
      [['machine', 'list', '--status', 'broken'], /^webiso: invalid --status "broken": use active or suspended$/],
      [['machine', 'list', '--expiring', '0'], /^webiso: invalid --expiring "0": use a number of days from 1 to \d+$/],
      [['machine', 'sightings', KIOSK, '--limit', 'lots'], /^webiso: invalid --limit "lots": use a whole number from 1 to \d+$/],
      [['machine', 'alerts', '--close', 'x'], /^webiso: invalid --close "x": use the number of an alert, as `webiso machine alerts` lists it$/],
      [['machine', 'enroll', KIOSK, '--days', '9999'], /^webiso: invalid --days "9999": use a number of days from 1 to 120$/],
      [['machine', 'suspend', KIOSK, '--by', 'a\u0007b'], /^webiso: invalid --by "a\u0007b": use 1-64 characters without control characters$/],
      [['keys', 'rotate', '--alg', 'HS256'], /^webiso: invalid --alg "HS256": use EdDSA or ES256$/],
      [['machine', 'invalidate-before', 'tomorrow'], /^webiso: invalid time "tomorrow": use ISO 8601/],
    ];
    for (const [args, message] of invalidOptions) assert.match((await webiso(...args)).err, message, args.join(' '));
    assert.equal((await webiso('machine', 'alerts', '--close', '99')).err, 'webiso: no such alert #99');
    const shared = await webiso('machine', 'update', KIOSK, '--location', 'x'.repeat(201));
    assert.equal(shared.err, 'webiso: the location is at most 200 characters', "an error shared with the web pages, in the CLI's words");
  });

  it('tables have a header row; times read as on the admin pages', async () => {
    const users = (await webiso('user', 'list')).out.split('\n');
    assert.equal(users[0], 'USERNAME\tSTATE\tROLES\tCREATED');
    const machines = (await webiso('machine', 'list')).out.split('\n');
    assert.equal(machines[0], 'FQDN\tVERSION\tSTATUS\tSET BY\tSET AT\tEXPIRES\tLAST SEEN\tLAST IP\tALERTS');
    const row = machines[1]!.split('\t');
    assert.deepEqual([row[0], row[1], row[2], row[5], row[6], row[7], row[8]], [KIOSK, '0', 'active', '-', '-', '-', '0']);
    assert.match(row[4]!, TIME);
    assert.match((await webiso('machine', 'update', KIOSK, '--location', 'Hall')).out, /^FQDN\tVERSION/);
    assert.match((await webiso('machine', 'show', KIOSK)).out, /^history:\n {2}WHEN\tACTION\tVERSION\tBY\tFROM\tREASON\tDETAIL\n {2}\d{4}-\d\d-\d\d \d\d:\d\d UTC\tupdate\t/m);
    assert.match((await webiso('machine', 'sightings', KIOSK)).out, /^ {2}ADDRESS\tNETWORK\tFIRST SEEN\tLAST SEEN\tPRESENTATIONS\tREFUSED$/m);
  });

  it('help shows each default once and no internal limits', () => {
    for (const command of allCommands(buildCli())) {
      const help = command.helpInformation();
      const name = command.name();
      assert.doesNotMatch(help, /\(default: \[\]\)/, `${name}: no "(default: [])" for repeatable options`);
      for (const line of help.split('\n')) assert.ok((line.match(/default/g) ?? []).length <= 1, `${name}: a default said twice: ${line}`);
      assert.doesNotMatch(help, /\b(3650|10000|10_000|1024)\b/, `${name}: no internal limits in the help`);
    }
  });
});
