import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const REPO = process.cwd();

/** Every file under dir, relative paths. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`]));
}

/** Resolves with the listening URL from the log line, or rejects with what the process said. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      const match = /webiso is listening on (https?:\/\/[\d.:]+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
    setTimeout(() => reject(new Error(`no listening line within 15 s: ${output}`)), 15_000).unref();
  });
}

/**
 * `npm run build` then `webiso serve`, without tsx: the build goes to a temporary package layout
 * (package.json, bin/, dist/, and views/, migrations/, node_modules/ linked) with no sources in it,
 * so whatever runs there is the compiled JavaScript. Type checking is `npm run typecheck`'s job;
 * here tsc only emits (--noCheck), which keeps the test near five seconds.
 */
describe('production start from the compiled JavaScript', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'webiso-build-'));
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist'), '--noCheck', '--declaration', 'false', '--sourceMap', 'false'], { cwd: REPO, stdio: 'pipe' });
    copyFileSync(join(REPO, 'package.json'), join(dir, 'package.json'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(REPO, 'bin/webiso.js'), join(dir, 'bin/webiso.js'));
    for (const name of ['views', 'migrations', 'node_modules']) symlinkSync(join(REPO, name), join(dir, name));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('emits JavaScript only, with relative imports rewritten to .js', () => {
    const files = walk(join(dir, 'dist'));
    assert.ok(files.includes('src/cli/main.js'));
    assert.deepEqual(files.filter((file) => file.endsWith('.ts')), []);
  });

  it('webiso --version reads package.json from the compiled CLI', () => {
    const out = execFileSync(process.execPath, [join(dir, 'bin/webiso.js'), '--version'], { cwd: dir, encoding: 'utf8' });
    assert.match(out, /^webiso \d+\.\d+\.\d+/);
  });

  it('webiso serve runs: migrations applied, views rendered, SIGTERM stops it with status 0', async () => {
    const config = join(dir, 'webiso.yaml');
    writeFileSync(config, ['issuer: http://localhost', `dataDir: ${join(dir, 'data')}`, 'listen: { port: 0 }', 'apps:', '  - { id: app, name: App, returnUrls: ["http://localhost:9/cb"] }', ''].join('\n'));
    const child = spawn(process.execPath, [join(dir, 'bin/webiso.js'), 'serve'], { cwd: dir, env: { ...process.env, WEBISO_CONFIG: config, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await listeningUrl(child);
      const home = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
      assert.equal(home.status, 200);
      assert.match(await home.text(), /<html/i, 'a view from views/');
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200, 'database migrated and writable, keys loaded');
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
