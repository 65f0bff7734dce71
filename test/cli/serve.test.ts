import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeTcpPort } from '../support/process.ts';

const MAIN = join(process.cwd(), 'src', 'cli', 'main.ts');

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly event?: string;
  readonly [field: string]: unknown;
}

let scratch: string;
let configPath: string;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'webiso-serve-test-'));
  configPath = join(scratch, 'webiso.json');
  writeFileSync(configPath, JSON.stringify({ issuer: 'http://localhost:8080', dataDir: join(scratch, 'data'), apps: [{ id: 'demo', name: 'Demo', returnUrls: ['http://localhost:8081/webiso/callback'] }] }));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Starts `webiso serve`, waits for its start-up line, sends `signal`, and returns every line it printed. */
async function serveUntil(signal: NodeJS.Signals, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string[]; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], { env: { ...process.env, WEBISO_CONFIG: configPath, WEBISO_PORT: '0', WEBISO_WORKERS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('"setup.no_accounts"')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    void exited.then(() => reject(new Error(`webiso serve exited early:\n${stdout}${stderr}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await started;
    child.kill(signal);
    return { code: await exited, stdout: stdout.trim().split('\n'), stderr };
  } finally {
    clearTimeout(timer);
  }
}

function parseAll(lines: string[]): LogLine[] {
  return lines.map((line) => {
    const parsed = JSON.parse(line) as LogLine; // every line is a log line: one format
    assert.equal(typeof parsed.msg, 'string', line);
    assert.equal(typeof parsed.time, 'string', line);
    return parsed;
  });
}

describe('webiso serve: start-up and shutdown output', () => {
  it('says where it listens in log lines only, and logs a SIGTERM shutdown', { timeout: 90_000 }, async () => {
    const { code, stdout, stderr } = await serveUntil('SIGTERM', []);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    const lines = parseAll(stdout);
    const events = lines.map((line) => line.event ?? line.msg.replace(/http:\/\/\S+/, 'URL'));
    assert.deepEqual(events, ['webiso is listening on URL', 'server.started', 'setup.no_accounts', 'server.stopping', 'server.stopped']);
    const startedLine = lines.find((line) => line.event === 'server.started');
    assert.match(String(startedLine?.url), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(startedLine?.issuer, 'http://localhost:8080');
    assert.equal(lines.find((line) => line.event === 'server.stopping')?.signal, 'SIGTERM');
    assert.equal(lines.find((line) => line.event === 'server.stopping')?.msg, 'received SIGTERM: shutting down');
  });

  it('with --demo, the demo app is one more log line; SIGINT (Ctrl-C) is logged the same way', { timeout: 90_000 }, async () => {
    const port = await freeTcpPort();
    const { code, stdout, stderr } = await serveUntil('SIGINT', ['--demo'], { WEBISO_DEMO_PORT: String(port) });
    assert.equal(code, 0, stderr);
    const lines = parseAll(stdout);
    assert.equal(lines.find((line) => line.event === 'demo.started')?.url, `http://localhost:${port}`);
    assert.equal(lines.find((line) => line.event === 'server.stopping')?.signal, 'SIGINT');
    assert.equal(lines.at(-1)?.event, 'server.stopped');
  });
});
