import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildApp } from '../../src/app.ts';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts';

const scratch = mkdtempSync(join(tmpdir(), 'webiso-config-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const MINIMAL = {
  issuer: 'https://login.example.edu',
  apps: [{ id: 'app', name: 'App', returnUrls: ['https://app.example.edu/cb'] }],
};

function withApp(app: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { ...MINIMAL, apps: [{ ...MINIMAL.apps[0], ...app }], ...extra };
}

/** Asserts the raw config is refused with a ConfigError whose message names `path` and matches `problem`. */
function refused(raw: unknown, path: string, problem?: RegExp): ConfigError {
  let caught: unknown;
  try {
    parseConfig(raw);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${path}, got ${String(caught)}`);
  assert.equal(caught.code, 'config_invalid');
  const line = caught.message.split('\n').find((candidate) => candidate.includes(`- ${path}:`));
  assert.ok(line, `the message names ${path}:\n${caught.message}`);
  if (problem) assert.match(line, problem);
  return caught;
}

let fileCounter = 0;
function writeConfig(text: string): string {
  fileCounter += 1;
  const path = join(scratch, `webiso-${fileCounter}.yaml`);
  writeFileSync(path, text);
  return path;
}

const VALID_YAML = `
issuer: https://login.example.edu/
listen:
  host: 0.0.0.0
  port: 9000
dataDir: ./from-file
apps:
  - id: app
    name: App
    returnUrls: [https://app.example.edu/cb]
`;

describe('configuration validation', () => {
  it('fills documented defaults and strips a trailing slash from the issuer', () => {
    const config = parseConfig({ ...MINIMAL, issuer: 'https://login.example.edu//' });
    assert.equal(config.issuer, 'https://login.example.edu');
    assert.equal(config.mode, 'development');
    assert.equal(config.session.idleSeconds, 1800);
    assert.equal(config.session.absoluteSeconds, 28_800);
    assert.equal(config.grant.lifetimeSeconds, 60);
    assert.equal(config.grant.algorithm, 'EdDSA');
    assert.equal(config.throttle.maxFailuresPerAccount, 10);
    assert.equal(config.throttle.windowSeconds, 900);
    assert.deepEqual(config.trustedProxies, []);
    assert.deepEqual(config.verifier, { kind: 'local' }, 'maxConcurrentHashes unset: chosen from the host (src/verifiers/hash-concurrency.ts)');
    assert.deepEqual(config.apps[0]!.flavors, ['basic']);
    assert.equal(config.listen.port, 8080);
  });

  it('caps argon2 at 1 – 64 computations at once, naming verifier.maxConcurrentHashes', () => {
    assert.deepEqual(parseConfig({ ...MINIMAL, verifier: { kind: 'local', maxConcurrentHashes: 3 } }).verifier, { kind: 'local', maxConcurrentHashes: 3 });
    refused({ ...MINIMAL, verifier: { kind: 'local', maxConcurrentHashes: 0 } }, 'verifier.maxConcurrentHashes');
    refused({ ...MINIMAL, verifier: { kind: 'local', maxConcurrentHashes: 65 } }, 'verifier.maxConcurrentHashes');
  });

  it('names the exact option path of a bad return URL', () => {
    refused(withApp({ returnUrls: ['not a url'] }), 'apps[0].returnUrls[0]');
    refused(withApp({ returnUrls: ['https://app.example.edu/cb', 'https://app.example.edu/cb#frag'] }), 'apps[0].returnUrls[1]');
    refused(withApp({ returnUrls: ['https://user:pw@app.example.edu/cb'] }), 'apps[0].returnUrls[0]');
    refused(withApp({ returnUrls: ['javascript:alert(1)'] }), 'apps[0].returnUrls[0]');
    refused(withApp({ returnUrls: ['/relative/cb'] }), 'apps[0].returnUrls[0]');
    refused(
      { ...MINIMAL, apps: [MINIMAL.apps[0], { id: 'b', name: 'B', returnUrls: ['https://b.example.edu/', 'https://b.example.edu/?q=1'] }] },
      'apps[1].returnUrls[1]',
    );
  });

  it('names session and other numeric options precisely', () => {
    refused({ ...MINIMAL, session: { idleSeconds: 10 } }, 'session.idleSeconds');
    refused({ ...MINIMAL, session: { idleSeconds: 'soon' } }, 'session.idleSeconds');
    refused({ ...MINIMAL, session: { idleSeconds: 7200, absoluteSeconds: 3600 } }, 'session.idleSeconds', /absoluteSeconds/);
    refused({ ...MINIMAL, session: { absoluteSeconds: 30 * 86_400 } }, 'session.absoluteSeconds');
    refused({ ...MINIMAL, grant: { lifetimeSeconds: 3600 } }, 'grant.lifetimeSeconds');
    refused({ ...MINIMAL, grant: { algorithm: 'HS256' } }, 'grant.algorithm');
    refused({ ...MINIMAL, throttle: { maxFailuresPerAccount: 1000 } }, 'throttle.maxFailuresPerAccount');
    refused({ ...MINIMAL, throttle: { maxFailuresPerAccount: 0 } }, 'throttle.maxFailuresPerAccount');
    refused({ ...MINIMAL, listen: { port: 70_000 } }, 'listen.port');
    refused({ ...MINIMAL, logLevel: 'loud' }, 'logLevel');
  });

  it('names app problems: id, duplicates, flavors, missing apps', () => {
    refused(withApp({ id: 'Bad Id' }), 'apps[0].id');
    refused({ ...MINIMAL, apps: [MINIMAL.apps[0], { ...MINIMAL.apps[0] }] }, 'apps[1].id', /duplicate/);
    refused(withApp({ flavors: ['nope'] }), 'apps[0].flavors[0]');
    refused(withApp({ flavors: [] }), 'apps[0].flavors');
    refused(withApp({ returnUrls: [] }), 'apps[0].returnUrls');
    refused({ issuer: MINIMAL.issuer }, 'apps');
    refused({ ...MINIMAL, apps: [] }, 'apps');
    refused({ apps: MINIMAL.apps }, 'issuer');
  });

  it('refuses unknown keys at every level, naming the key', () => {
    refused({ ...MINIMAL, sesion: { idleSeconds: 60 } }, '(top level)', /sesion/);
    refused({ ...MINIMAL, session: { idle: 60 } }, 'session', /idle/);
    refused({ ...MINIMAL, grant: { lifetime: 60 } }, 'grant', /lifetime/);
    refused(withApp({ returnUrl: 'https://app.example.edu/cb' }), 'apps[0]', /returnUrl/);
  });

  it('production mode requires https for the issuer and every return URL', () => {
    refused({ ...MINIMAL, mode: 'production', issuer: 'http://login.example.edu' }, 'issuer', /https/);
    refused(withApp({ returnUrls: ['https://app.example.edu/cb', 'http://app.example.edu/cb'] }, { mode: 'production' }), 'apps[0].returnUrls[1]', /https/);
    assert.equal(parseConfig({ ...MINIMAL, mode: 'production' }).mode, 'production');
    // development allows plain http (localhost demo)
    assert.equal(parseConfig(withApp({ returnUrls: ['http://localhost:8081/'] }, { issuer: 'http://localhost:8080' })).issuer, 'http://localhost:8080');
  });

  it('refuses a document that is not a mapping', () => {
    for (const raw of [null, 'issuer', 42, []]) {
      assert.throws(() => parseConfig(raw), ConfigError);
    }
  });
});

describe('loading the configuration file', () => {
  it('WEBISO_CONFIG chooses the file; the error names the file and the option path', () => {
    const path = writeConfig(VALID_YAML);
    const { config, path: loadedFrom } = loadConfig({ WEBISO_CONFIG: path });
    assert.equal(loadedFrom, resolve(path));
    assert.equal(config.issuer, 'https://login.example.edu');
    assert.equal(config.listen.port, 9000);
    assert.equal(config.dataDir, './from-file');

    const bad = writeConfig(VALID_YAML.replace('returnUrls: [https://app.example.edu/cb]', 'returnUrls: [ftp://app.example.edu/cb]'));
    assert.throws(
      () => loadConfig({ WEBISO_CONFIG: bad }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(bad) && error.message.includes('apps[0].returnUrls[0]'),
    );
  });

  it('WEBISO_DATA_DIR and WEBISO_PORT override the file; other listen options survive', () => {
    const path = writeConfig(VALID_YAML);
    const { config } = loadConfig({ WEBISO_CONFIG: path, WEBISO_DATA_DIR: '/var/lib/webiso-test', WEBISO_PORT: '9443' });
    assert.equal(config.dataDir, '/var/lib/webiso-test');
    assert.equal(config.listen.port, 9443);
    assert.equal(config.listen.host, '0.0.0.0');
    // an empty WEBISO_PORT is ignored
    assert.equal(loadConfig({ WEBISO_CONFIG: path, WEBISO_PORT: '' }).config.listen.port, 9000);
  });

  it('WEBISO_PORT must be a port number', () => {
    const path = writeConfig(VALID_YAML);
    for (const port of ['abc', '70000', '-1', '80.5']) {
      assert.throws(
        () => loadConfig({ WEBISO_CONFIG: path, WEBISO_PORT: port }),
        (error: unknown) => error instanceof ConfigError && error.message.includes('WEBISO_PORT'),
        port,
      );
    }
  });

  it('WEBISO_ISSUER overrides the issuer and is validated like it', () => {
    const path = writeConfig(VALID_YAML);
    assert.equal(loadConfig({ WEBISO_CONFIG: path, WEBISO_ISSUER: 'https://sso.example.org/' }).config.issuer, 'https://sso.example.org');
    assert.throws(() => loadConfig({ WEBISO_CONFIG: path, WEBISO_ISSUER: 'not a url' }), (error: unknown) => error instanceof ConfigError && /- issuer:/.test(error.message));
  });

  it('a missing file or invalid YAML stops start-up with a message naming the file', () => {
    const missing = join(scratch, 'does-not-exist.yaml');
    assert.throws(() => loadConfig({ WEBISO_CONFIG: missing }), (error: unknown) => error instanceof ConfigError && error.message.includes(missing) && /ENOENT/.test(error.message));
    const broken = writeConfig('issuer: [unclosed\napps: {');
    assert.throws(() => loadConfig({ WEBISO_CONFIG: broken }), (error: unknown) => error instanceof ConfigError && error.message.includes(`invalid YAML in ${broken}`));
    const unknown = writeConfig(`${VALID_YAML}\nsesion:\n  idleSeconds: 60\n`);
    assert.throws(() => loadConfig({ WEBISO_CONFIG: unknown }), (error: unknown) => error instanceof ConfigError && /sesion/.test(error.message));
  });

  it('the shipped config/webiso.yaml is valid and the server builds from it', async () => {
    const dataDir = mkdtempSync(join(scratch, 'data-'));
    const { config } = loadConfig({ WEBISO_CONFIG: resolve('config/webiso.yaml'), WEBISO_DATA_DIR: dataDir });
    assert.equal(config.dataDir, dataDir);
    assert.ok(config.apps.length >= 1);
    const app = await buildApp(config, { logger: false });
    try {
      const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      assert.equal(response.statusCode, 200);
      assert.equal((response.json() as { keys: unknown[] }).keys.length, 1);
    } finally {
      await app.close();
    }
  });
});
