import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { StoreConfig } from '../../src/store/config-schema.ts';
import { openStore } from '../../src/store/store.ts';
import { testStoreConfig } from '../support/test-store.ts';
import { attemptLogin, grantOf, testConfig } from '../support/webiso.ts';

const MAIN = join(process.cwd(), 'src', 'cli', 'main.ts');

let scratch: string;
let configPath: string;
let dataDir: string;
/** the run's engine; the CLI finds it in the config file (an SQLite file in WEBISO_DATA_DIR by default) */
let store: StoreConfig;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `webiso ARGS` the way a shell would, with the password (if any) on standard input. */
function webiso(args: string[], stdin = '', env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...process.env, WEBISO_CONFIG: configPath, WEBISO_DATA_DIR: dataDir, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

function assertFailed(result: CliResult, message: RegExp): void {
  assert.notEqual(result.code, 0, `expected a non-zero exit: ${JSON.stringify(result)}`);
  assert.match(result.stderr, message);
  assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

async function usersTable(): Promise<Array<{ username: string; password_hash: string; disabled: number }>> {
  const opened = await openStore({ store, dataDir });
  try {
    return await opened.db.selectFrom('users').select(['username', 'password_hash', 'disabled']).orderBy('username').execute();
  } finally {
    await opened.close();
  }
}

async function withServer<T>(fn: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const app = await buildApp(testConfig({ store }, dataDir), { logger: false });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

async function canLogIn(username: string, password: string): Promise<boolean> {
  return withServer(async (app) => {
    const { response } = await attemptLogin(app, { username, password });
    return response.statusCode === 200 && grantOf(response.body) !== undefined;
  });
}

const ALICE_PASSWORD = 'cli-alice-password-Ünïcødé';

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'webiso-cli-test-'));
  dataDir = join(scratch, 'data');
  configPath = join(scratch, 'webiso.yaml');
  store = testStoreConfig(dataDir);
  writeFileSync(
    configPath,
    [
      'issuer: https://login.example.edu',
      'dataDir: ./ignored-because-WEBISO_DATA_DIR-is-set',
      'apps:',
      '  - id: app',
      '    name: App',
      '    returnUrls: [https://app.example.edu/webiso/callback]',
      // a role the configuration names is a known role (docs/cli.md)
      'machines:',
      '  mintPolicy: [{ roles: [kiosk-staff], fqdns: ["*.kiosk.example.edu"] }]',
      // JSON is YAML
      ...(store.kind === 'sqlite' ? [] : [`store: ${JSON.stringify(store)}`]),
      '',
    ].join('\n'),
  );
});

after(() => rmSync(scratch, { recursive: true, force: true }));

describe('webiso CLI', { concurrency: false }, () => {
  it('migrate creates the database in WEBISO_DATA_DIR', async () => {
    const result = await webiso(['migrate']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /up to date/);
    assert.deepEqual(await usersTable(), []);
  });

  it('user list on an empty database says how to add a user', async () => {
    const result = await webiso(['user', 'list']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /no users yet/);
  });

  it('user add reads the password from stdin, stores argon2id, and never echoes the password', async () => {
    const result = await webiso(['user', 'add', 'alice'], `${ALICE_PASSWORD}\n`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /added user alice/);
    assert.ok(!result.stdout.includes(ALICE_PASSWORD) && !result.stderr.includes(ALICE_PASSWORD));
    const [row] = await usersTable();
    assert.equal(row?.username, 'alice');
    assert.match(row!.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(await canLogIn('alice', ALICE_PASSWORD), 'the new account can log in');
    assert.equal(await canLogIn('alice', `${ALICE_PASSWORD}\n`), false, 'exactly one trailing newline is the line terminator');
  });

  it('a duplicate user add fails with a clear message', async () => {
    assertFailed(await webiso(['user', 'add', 'alice'], 'another-password\n'), /user "alice" already exists/);
    assertFailed(await webiso(['user', 'add', 'ALICE'], 'another-password\n'), /already exists/);
    assert.equal((await usersTable()).length, 1);
  });

  it('a bad username or a short password fails and creates nothing', async () => {
    const names = ['bad name', '.dot', 'x'.repeat(65), 'semi;colon', 'ünïcødé', ''];
    const results = await Promise.all(names.map((name) => webiso(['user', 'add', name], 'long-enough-password\n')));
    results.forEach((result) => assertFailed(result, /invalid username ".*": use 1-64 characters/));
    const [short, empty] = await Promise.all([webiso(['user', 'add', 'shorty'], 'short\n'), webiso(['user', 'add', 'empty'], '')]);
    assertFailed(short, /^webiso: the password must be at least 8 characters long$/m);
    assertFailed(empty, /^webiso: no password given$/m);
    assert.deepEqual((await usersTable()).map((row) => row.username), ['alice']);
  });

  it('standard input gives one line: typed twice is accepted, never part of the password', async () => {
    const added = await webiso(['user', 'add', 'twice'], 'typed-twice-pw\ntyped-twice-pw\n');
    assert.equal(added.code, 0, added.stderr);
    assert.ok(await canLogIn('twice', 'typed-twice-pw'), 'the password is the first line');
    assert.equal(await canLogIn('twice', 'typed-twice-pw\ntyped-twice-pw'), false, 'not both lines');
    const crlf = await webiso(['user', 'passwd', 'twice'], 'windows-line-pw\r\nwindows-line-pw\r\n');
    assert.equal(crlf.code, 0, crlf.stderr);
    assert.ok(await canLogIn('twice', 'windows-line-pw'), 'CR LF ends a line too');
  });

  it('a second line that differs, a third line, control characters or nothing at all fail and change nothing', async () => {
    const cases: Array<[string[], string, RegExp]> = [
      [['user', 'add', 'differ'], 'first-password\nsecond-password\n', /^webiso: the two passwords differ$/m],
      [['user', 'add', 'three'], 'same-password\nsame-password\nsame-password\n', /^webiso: standard input has more than two lines/m],
      [['user', 'add', 'tabbed'], 'tab\tinside-password\n', /^webiso: the password must not contain control characters/m],
      [['user', 'add', 'newline'], '\n', /^webiso: no password given$/m],
      [['user', 'passwd', 'twice'], 'first-password\nsecond-password', /^webiso: the two passwords differ$/m],
      [['user', 'passwd', 'twice'], '', /^webiso: no password given$/m],
      [['user', 'passwd', 'twice'], 'escape\u001b[2J-password\n', /control characters/],
    ];
    const results = await Promise.all(cases.map(([args, stdin]) => webiso(args, stdin)));
    results.forEach((result, index) => assertFailed(result, cases[index]![2]));
    assert.deepEqual((await usersTable()).map((row) => row.username), ['alice', 'twice']);
    assert.ok(await canLogIn('twice', 'windows-line-pw'), 'passwd changed nothing');
  });

  it('the password can never be given as an argument', async () => {
    const [extra, option, passwd, help] = await Promise.all([
      webiso(['user', 'add', 'mallory', 'password-as-argument']),
      webiso(['user', 'add', 'mallory', '--password', 'password-as-argument']),
      webiso(['user', 'passwd', 'alice', 'password-as-argument']),
      webiso(['user', 'add', '--help']),
    ]);
    assertFailed(extra, /too many arguments/);
    assertFailed(option, /unknown option '--password'/);
    assertFailed(passwd, /too many arguments/);
    assert.doesNotMatch(help.stdout, /--pass/);
    assert.deepEqual((await usersTable()).map((row) => row.username), ['alice', 'twice']);
  });

  it('user add --role, user role --add/--remove and user list', async () => {
    const added = await webiso(['user', 'add', 'Bob', '--role', 'admin'], 'bob-password-long\n');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added user bob with roles admin/);

    const role = await webiso(['user', 'role', 'alice', '--add', 'admin', '--add', 'kiosk-staff']);
    assert.equal(role.code, 0, role.stderr);
    assert.match(role.stdout, /^user alice has roles: admin, kiosk-staff$/m);
    const removed = await webiso(['user', 'role', 'alice', '--remove', 'kiosk-staff']);
    assert.match(removed.stdout, /^user alice has roles: admin$/m);

    const list = await webiso(['user', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n').map((line) => line.split('\t'));
    assert.deepEqual(lines.map((cells) => cells.slice(0, 3)), [
      ['USERNAME', 'STATE', 'ROLES'],
      ['alice', 'active', 'admin'],
      ['bob', 'active', 'admin'],
      ['twice', 'active', '-'],
    ]);
    assert.match(lines[1]?.[3] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);

    const [badRole, noUser, noChange, badAddRole] = await Promise.all([
      webiso(['user', 'role', 'alice', '--add', 'Bad Role']),
      webiso(['user', 'role', 'nobody', '--add', 'admin']),
      webiso(['user', 'role', 'alice']),
      webiso(['user', 'add', 'carol', '--role', 'ADMIN!'], 'carol-password-long\n'),
    ]);
    assertFailed(badRole, /invalid role "Bad Role"/);
    assertFailed(noUser, /no such user "nobody"/);
    assertFailed(noChange, /^webiso: nothing to change: give --add ROLE or --remove ROLE$/m);
    assertFailed(badAddRole, /invalid role "ADMIN!"/);
    assert.equal((await usersTable()).some((row) => row.username === 'carol'), false);
  });

  it('user disable stops logins at once; enable restores them', async () => {
    const disabled = await webiso(['user', 'disable', 'alice']);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.equal(await canLogIn('alice', ALICE_PASSWORD), false);
    assert.match((await webiso(['user', 'list'])).stdout, /^alice\tdisabled\t/m);
    assert.equal((await webiso(['user', 'enable', 'alice'])).code, 0);
    assert.ok(await canLogIn('alice', ALICE_PASSWORD));
    assertFailed(await webiso(['user', 'disable', 'nobody']), /no such user/);
  });

  it('user passwd replaces the password', async () => {
    const result = await webiso(['user', 'passwd', 'alice'], 'a-brand-new-password\n');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(await canLogIn('alice', 'a-brand-new-password'));
    assert.equal(await canLogIn('alice', ALICE_PASSWORD), false);
    assertFailed(await webiso(['user', 'passwd', 'nobody'], 'whatever-password\n'), /no such user/);
    assertFailed(await webiso(['user', 'passwd', 'alice'], 'short\n'), /at least 8 characters/);
  });

  it('keys rotate adds an active key; keys list shows the old one retired but published', async () => {
    // the server created the first key on start (canLogIn above)
    const before = await webiso(['keys', 'list']);
    assert.equal(before.code, 0, before.stderr);
    const [header, firstKid] = before.stdout.trim().split('\n').map((line) => line.split('\t')[0]);
    assert.equal(header, 'KID');
    assert.ok(firstKid);

    const rotated = await webiso(['keys', 'rotate']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const newKid = /new grant signing key (\S+) \(EdDSA\) is now active/.exec(rotated.stdout)?.[1];
    assert.ok(newKid && newKid !== firstKid, rotated.stdout);

    const list = await webiso(['keys', 'list']);
    const rows = new Map(list.stdout.trim().split('\n').map((line) => { const cells = line.split('\t'); return [cells[0]!, cells]; }));
    assert.equal(rows.get(newKid)?.[1], 'grant');
    assert.equal(rows.get(newKid)?.[4], 'active');
    assert.match(rows.get(firstKid)?.[4] ?? '', /^retired, published until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);

    // the running server signs with the new key and still publishes the old one
    await withServer(async (app) => {
      const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Array<{ kid: string }> };
      assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), [firstKid, newKid].sort());
    });

    assertFailed(await webiso(['keys', 'rotate', '--alg', 'HS256']), /invalid --alg "HS256"/);
  });

  it('an unknown command or a bad configuration exits non-zero with a message', async () => {
    const badConfig = join(scratch, 'bad.yaml');
    writeFileSync(badConfig, 'issuer: https://login.example.edu\napps:\n  - id: app\n    name: App\n    returnUrls: [not-a-url]\n');
    const [unknown, unknownSub, invalid, missing] = await Promise.all([
      webiso(['frobnicate']),
      webiso(['user', 'frobnicate']),
      webiso(['user', 'list'], '', { WEBISO_CONFIG: badConfig }),
      webiso(['user', 'list'], '', { WEBISO_CONFIG: join(scratch, 'missing.yaml') }),
    ]);
    assertFailed(unknown, /^webiso: unknown command 'frobnicate'/);
    assertFailed(unknownSub, /^webiso: unknown command 'frobnicate'/);
    assertFailed(invalid, /apps\[0\]\.returnUrls\[0\]/);
    assertFailed(missing, /cannot read configuration file/);
  });

  it('a database that does not answer is one line saying so, exit 1, no stack trace', async () => {
    const unreachable = join(scratch, 'unreachable.yaml');
    // port 1 on loopback: nothing listens, the connection is refused at once
    writeFileSync(unreachable, 'issuer: https://login.example.edu\nstore: { kind: postgres, url: "postgres://webiso@127.0.0.1:1/webiso" }\napps: [{ id: app, name: App, returnUrls: ["https://app.example.edu/cb"] }]\n');
    const result = await webiso(['user', 'list'], '', { WEBISO_CONFIG: unreachable });
    assert.equal(result.code, 1);
    assertFailed(result, /^webiso: the database did not answer \(ECONNREFUSED\): try again once it is back$/m);
  });
});
