import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { runCli } from '../../src/cli/main.ts';

let dir: string;

function writeConfig(name: string, lines: string[], dataDir = join(dir, 'data')): string {
  const path = join(dir, name);
  writeFileSync(path, [`dataDir: ${dataDir}`, 'issuer: https://login.example.edu', 'apps:', '  - { id: app, name: App, returnUrls: ["https://app.example.edu/cb"] }', ...lines, ''].join('\n'));
  return path;
}

/** Runs `webiso ARGS` in this process; returns the status and what it printed. */
async function webiso(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = mock.method(console, 'log', (line: string) => void out.push(line));
  const error = mock.method(console, 'error', (line: string) => void err.push(line));
  try {
    return { code: await runCli(args), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mock.restore();
    error.mock.restore();
  }
}

describe('webiso config check [FILE]', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'webiso-config-check-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=t', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=u', '-keyout', join(dir, 'other-key.pem'), '-out', join(dir, 'other-cert.pem')], { stdio: 'ignore' });
    writeFileSync(join(dir, 'keytab'), 'not really a keytab');
    writeFileSync(join(dir, 'token'), 'a-long-enough-metrics-token');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a valid file and lists the files it checked', async () => {
    const path = writeConfig('good.yaml', [`tls: { certFile: ${dir}/cert.pem, keyFile: ${dir}/key.pem }`, `ops: { metrics: { access: token, tokenFile: ${dir}/token } }`]);
    const result = await webiso(['config', 'check', path]);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, new RegExp(`configuration ${path} is valid`));
    assert.match(result.out, /tls: .*cert\.pem/);
    assert.match(result.out, /ops\.metrics\.tokenFile: /);
    assert.match(result.out, /dataDir: .*\(will be created\)/);
  });

  it('names the option of a schema error', async () => {
    const path = writeConfig('schema.yaml', ['grant: { lifetimeSeconds: 5 }']);
    const result = await webiso(['config', 'check', path]);
    assert.equal(result.code, 1);
    assert.match(result.err, /grant\.lifetimeSeconds: /);
  });

  it('names every referenced file that cannot be used, with its option path', async () => {
    const path = writeConfig('files.yaml', [
      `verifier: { kind: kerberos, realms: [EXAMPLE.EDU], servicePrincipal: HTTP/login.example.edu, keytab: ${dir}/missing.keytab, krb5Config: ${dir}/missing.conf }`,
      `tls: { certFile: ${dir}/other-cert.pem, keyFile: ${dir}/key.pem }`,
      `ops: { metrics: { access: token, tokenFile: ${dir}/nope } }`,
    ]);
    const result = await webiso(['config', 'check', path]);
    assert.equal(result.code, 1);
    assert.match(result.err, /verifier\.keytab: cannot read .*missing\.keytab: ENOENT/);
    assert.match(result.err, /verifier\.krb5Config: cannot read .*missing\.conf: ENOENT/);
    assert.match(result.err, /tls: not a usable certificate and key pair/);
    assert.match(result.err, /ops\.metrics\.tokenFile: cannot read .*nope: ENOENT/);
    assert.doesNotMatch(result.err, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  });

  it('checks an LDAP bind password file, and a data directory that cannot be written', async () => {
    writeFileSync(join(dir, 'empty-password'), '\n');
    // a regular file where the data directory's parent should be: fails whoever runs the test (root too)
    writeFileSync(join(dir, 'not-a-dir'), '');
    const path = writeConfig(
      'ldap.yaml',
      [`verifier: { kind: ldap, url: "ldap://127.0.0.1:389", baseDn: "dc=example,dc=edu", bindDn: "cn=svc", bindPasswordFile: ${dir}/empty-password }`],
      join(dir, 'not-a-dir', 'data'),
    );
    const result = await webiso(['config', 'check', path]);
    assert.equal(result.code, 1);
    assert.match(result.err, /verifier\.bindPasswordFile: cannot use .*empty-password: the file is empty/);
    assert.match(result.err, /dataDir: cannot write .*not-a-dir: .*not a directory/);
  });

  it('exits non-zero from the command line', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'config', 'check', join(dir, 'absent.yaml')], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^webiso: cannot read configuration file .*absent\.yaml: ENOENT/m);
  });
});
