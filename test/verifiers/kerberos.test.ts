import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createKerberosVerifier,
  obtainServiceTicketCcache,
  type KerberosVerifierOptions,
  type ServiceTicketOutcome,
} from '../../src/verifiers/kerberos.ts';
import type { VerifyOutcome } from '../../src/verifiers/verifier.ts';
import { startKdc, type Kdc } from '../support/kdc.ts';

const run = promisify(execFile);
const REALM = 'TEST.WEBISO';
const LONG_PASSWORD = 'Grüße-aus-Köln-日本語のパスワード-🔐🔑-ÆØÅ-ñandú-' + 'ß'.repeat(20) + '-end';
const TARGET = 'imap/mail.test.webiso';

let kdc: Kdc;
let rogue: Kdc;
let scratch: string;
let workDir: string;

function options(overrides: Partial<KerberosVerifierOptions> = {}): KerberosVerifierOptions {
  return {
    realms: [REALM],
    servicePrincipal: kdc.servicePrincipal,
    keytab: kdc.keytabPath,
    krb5Config: kdc.krb5ConfPath,
    timeoutMs: 5000,
    workDir,
    ...overrides,
  };
}

const verify = (username: string, password: string, overrides?: Partial<KerberosVerifierOptions>) =>
  createKerberosVerifier(options(overrides)).verify(username, password);

function assertFailure(outcome: VerifyOutcome | ServiceTicketOutcome, reason: string, detail?: RegExp) {
  assert.equal(outcome.ok, false, `expected ${reason}, got ${JSON.stringify(outcome)}`);
  if (outcome.ok) return;
  assert.equal(outcome.reason, reason, JSON.stringify(outcome));
  if (detail) assert.match(outcome.detail ?? '', detail);
}

before(async () => {
  [kdc, rogue] = await Promise.all([
    startKdc({
      principals: [
        { name: 'alice', password: 'alice-password-1' },
        { name: 'bob', password: 'bob-password-1' },
        { name: 'mb', password: LONG_PASSWORD },
      ],
    }),
    // Same realm, same user, another password and its own random key for our service principal.
    startKdc({ principals: [{ name: 'alice', password: 'rogue-password' }] }),
  ]);
  await kdc.addPrincipal(TARGET);
  scratch = await mkdtemp(join(tmpdir(), 'webiso-krb-test-'));
  workDir = join(scratch, 'work');
  await run('mkdir', [workDir]);
});

after(async () => {
  await Promise.all([kdc?.stop(), rogue?.stop()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('kerberos verifier', () => {
  it('accepts the right password and asserts the bare username', async () => {
    const outcome = await verify('alice', 'alice-password-1', { roles: (u) => (u === 'alice' ? ['admin'] : []) });
    assert.deepEqual(outcome, { ok: true, user: { username: 'alice', roles: ['admin'], amr: ['pwd', 'krb5'] } });
  });

  it('accepts user@DEFAULTREALM and still asserts the bare username', async () => {
    const outcome = await verify('alice@TEST.WEBISO', 'alice-password-1');
    assert.equal(outcome.ok && outcome.user.username, 'alice');
  });

  it('rejects a wrong password and an unknown user alike', async () => {
    assertFailure(await verify('alice', 'alice-password-2'), 'invalid_credentials', /Password incorrect/);
    assertFailure(await verify('nobody', 'alice-password-1'), 'invalid_credentials', /not found/);
    assertFailure(await verify('alice', ''), 'invalid_credentials');
  });

  it('refuses instances, foreign realms and odd characters before talking to the KDC', async () => {
    const bad = [
      'alice/admin',
      'alice/admin@TEST.WEBISO',
      'alice@OTHER.REALM',
      'alice@test.webiso',
      'alice@TEST.WEBISO@TEST.WEBISO',
      '@TEST.WEBISO',
      '',
      'a'.repeat(257),
      'alice\n',
      'alice\0',
      'al ice',
      'alice\\@OTHER.REALM',
      '\u200balice',
    ];
    for (const username of bad) {
      assertFailure(await verify(username, 'alice-password-1'), 'invalid_username');
    }
  });

  it('with appendRealm false requires user@REALM', async () => {
    assertFailure(await verify('alice', 'alice-password-1', { appendRealm: false }), 'invalid_username');
    const outcome = await verify('alice@TEST.WEBISO', 'alice-password-1', { appendRealm: false });
    assert.equal(outcome.ok && outcome.user.username, 'alice');
  });

  it('keeps the realm in the asserted name for a non-default realm', async () => {
    const outcome = await verify('alice@TEST.WEBISO', 'alice-password-1', { realms: ['OTHER.WEBISO', REALM] });
    assert.equal(outcome.ok && outcome.user.username, 'alice@TEST.WEBISO');
  });

  it('verifies a long multibyte password exactly', async () => {
    assert.ok(LONG_PASSWORD.length >= 64);
    assert.equal((await verify('mb', LONG_PASSWORD)).ok, true);
    assertFailure(await verify('mb', LONG_PASSWORD.slice(0, -1)), 'invalid_credentials');
    assertFailure(await verify('mb', `${LONG_PASSWORD}x`), 'invalid_credentials');
  });

  it('does not let a line break cut the password short (kinit reads one line)', async () => {
    assertFailure(await verify('alice', 'alice-password-1\nanything'), 'invalid_credentials');
    assertFailure(await verify('alice', 'alice-password-1\r\n'), 'invalid_credentials');
  });

  it('keeps concurrent logins apart', async () => {
    const users = Array.from({ length: 12 }, (_, i) => (i % 2 ? 'alice' : 'bob'));
    const outcomes = await Promise.all(users.map((u) => verify(u, `${u}-password-1`)));
    outcomes.forEach((outcome, i) => assert.equal(outcome.ok && outcome.user.username, users[i]));
  });

  it('puts the password only on stdin and keeps the ccache private', async () => {
    const log = join(scratch, 'wrapper-log');
    await run('mkdir', ['-p', log]);
    const kinitPath = await wrapper('kinit', `echo "$@" > ${log}/kinit-args; stat -c %a "$(dirname "\${KRB5CCNAME#FILE:}")" > ${log}/dir-mode`);
    const kvnoPath = await wrapper('kvno', `stat -c %a "\${KRB5CCNAME#FILE:}" > ${log}/ccache-mode`);
    const outcome = await verify('alice', 'alice-password-1', { kinitPath, kvnoPath });
    assert.equal(outcome.ok, true);
    const args = await readFile(join(log, 'kinit-args'), 'utf8');
    assert.doesNotMatch(args, /alice-password-1/);
    assert.match(args, /alice@TEST\.WEBISO/);
    assert.equal((await readFile(join(log, 'dir-mode'), 'utf8')).trim(), '700');
    assert.equal((await readFile(join(log, 'ccache-mode'), 'utf8')).trim(), '600');
  });

  it('leaves no credential cache or temp dir behind', async () => {
    await verify('alice', 'alice-password-1');
    await verify('alice', 'wrong');
    await obtainServiceTicketCcache({ ...options(), username: 'alice', password: 'alice-password-1', target: TARGET });
    assert.deepEqual(await readdir(workDir), []);
  });
});

describe('kerberos verifier against a spoofed KDC', () => {
  it('the rogue KDC really would issue alice a TGT for the rogue password', async () => {
    const ccache = `FILE:${join(scratch, 'rogue-ccache')}`;
    await runWithInput('kinit', ['-c', ccache, 'alice'], 'rogue-password\n', { KRB5_CONFIG: rogue.krb5ConfPath });
    const { stdout } = await run('klist', ['-c', ccache], { env: { ...process.env, LC_ALL: 'C' } });
    assert.match(stdout, /krbtgt\/TEST\.WEBISO@TEST\.WEBISO/);
  });

  it('refuses the rogue password because the service ticket does not decrypt with our keytab', async () => {
    const outcome = await verify('alice', 'rogue-password', { krb5Config: rogue.krb5ConfPath });
    assertFailure(outcome, 'invalid_credentials', /^ticket did not verify against keytab$/);
  });

  it('refuses when the rogue KDC does not even know our service principal', async () => {
    const bare = await startKdc({ principals: [{ name: 'alice', password: 'rogue-password' }], servicePrincipal: 'HTTP/elsewhere.test.webiso' });
    try {
      assertFailure(await verify('alice', 'rogue-password', { krb5Config: bare.krb5ConfPath }), 'invalid_credentials', /service principal unknown/);
    } finally {
      await bare.stop();
    }
  });

  it('refuses real tickets when the keytab is not ours (stale or wrong keytab)', async () => {
    assertFailure(await verify('alice', 'alice-password-1', { keytab: rogue.keytabPath }), 'invalid_credentials', /^ticket did not verify against keytab$/);
  });

  it('reports a missing keytab as unavailable, not as a bad password', async () => {
    assertFailure(await verify('alice', 'alice-password-1', { keytab: join(scratch, 'missing.keytab') }), 'unavailable', /keytab unreadable/);
  });
});

describe('kerberos verifier when the KDC is down', () => {
  it('a stopped KDC is unavailable, promptly', async () => {
    const doomed = await startKdc({ principals: [{ name: 'alice', password: 'alice-password-1' }] });
    await doomed.stop();
    await writeFile(join(scratch, 'doomed-krb5.conf'), krb5ConfFor(doomed.port));
    const started = Date.now();
    const outcome = await verify('alice', 'alice-password-1', { krb5Config: join(scratch, 'doomed-krb5.conf'), timeoutMs: 3000 });
    assertFailure(outcome, 'unavailable', /Cannot contact any KDC/);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  it('a KDC that never answers is unavailable once timeoutMs has passed', async () => {
    const hole = await blackHole();
    try {
      const conf = join(scratch, 'hole-krb5.conf');
      await writeFile(conf, krb5ConfFor(hole.port));
      const started = Date.now();
      const outcome = await verify('alice', 'alice-password-1', { krb5Config: conf, timeoutMs: 1500 });
      const elapsed = Date.now() - started;
      assertFailure(outcome, 'unavailable', /timed out/);
      assert.ok(elapsed >= 1400 && elapsed < 2500, `took ${elapsed} ms`);
    } finally {
      await hole.close();
    }
  });

  it('a missing work dir is unavailable, not a thrown error', async () => {
    assertFailure(await verify('alice', 'alice-password-1', { workDir: join(scratch, 'no-such-dir') }), 'unavailable', /credential cache/);
  });

  it('a missing kinit binary is unavailable', async () => {
    assertFailure(await verify('alice', 'alice-password-1', { kinitPath: join(scratch, 'no-such-kinit') }), 'unavailable', /ENOENT/);
  });
});

describe('obtainServiceTicketCcache (getcred)', () => {
  const request = (overrides: Partial<Parameters<typeof obtainServiceTicketCcache>[0]> = {}) =>
    obtainServiceTicketCcache({ ...options(), username: 'alice', password: 'alice-password-1', target: TARGET, ...overrides });

  it('returns a ccache holding exactly the target ticket and no TGT', async () => {
    const outcome = await request();
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    if (!outcome.ok) return;
    const file = join(scratch, 'getcred-ccache');
    await writeFile(file, outcome.ccache, { mode: 0o600 });
    const env = { ...process.env, LC_ALL: 'C' };
    const { stdout } = await run('klist', ['-c', `FILE:${file}`], { env });
    assert.match(stdout, /Default principal: alice@TEST\.WEBISO/);
    const tickets = stdout.split('\n').filter((line) => /^\d\d\/\d\d\/\d\d/.test(line));
    assert.equal(tickets.length, 1, stdout);
    assert.match(tickets[0] ?? '', /imap\/mail\.test\.webiso@TEST\.WEBISO$/);
    // -C also lists the cache's config entries: none may mention a TGT either.
    const { stdout: withConfig } = await run('klist', ['-C', '-c', `FILE:${file}`], { env });
    assert.doesNotMatch(withConfig, /krbtgt/);
  });

  it('maps a wrong password, an unknown target and a forbidden target', async () => {
    assertFailure(await request({ password: 'nope' }), 'invalid_credentials');
    assertFailure(await request({ target: 'imap/unknown.test.webiso' }), 'kdc_refused');
    for (const target of ['krbtgt/TEST.WEBISO', 'KRBTGT/TEST.WEBISO@TEST.WEBISO', 'kadmin/changepw', 'imap', 'imap/', `${TARGET}@OTHER.REALM`, '-Vimap/x', 'imap/x y']) {
      assertFailure(await request({ target }), 'invalid_target');
    }
    assertFailure(await request({ username: 'alice/admin' }), 'invalid_username');
  });
});

// ---- helpers ----

function krb5ConfFor(port: number): string {
  return `[libdefaults]\n  default_realm = ${REALM}\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n\n[realms]\n  ${REALM} = {\n    kdc = 127.0.0.1:${port}\n  }\n`;
}

/** A shell wrapper around a krb5 tool that runs `script` first (the verifier's env is clean). */
async function wrapper(tool: string, script: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', `command -v ${tool}`]);
  const path = join(scratch, `wrapped-${tool}`);
  await writeFile(path, `#!/bin/sh\n${script}\nexec ${stdout.trim()} "$@"\n`);
  await chmod(path, 0o755);
  return path;
}

function runWithInput(file: string, args: string[], input: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env: { ...process.env, LC_ALL: 'C', ...env } }, (err) => (err ? reject(err) : resolve()));
    child.stdin?.end(input);
  });
}

/** UDP and TCP listeners on one loopback port that swallow every request. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const { port } = udp.address();
    const sockets = new Set<Socket>();
    const tcp = createServer((socket) => sockets.add(socket)); // accepts and never replies
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) return { port, close: () => closeAll(udp, tcp, sockets) };
    udp.close();
  }
  throw new Error('no port for the black hole');
}

async function closeAll(udp: UdpSocket, tcp: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
}
