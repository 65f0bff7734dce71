// webiso as `webiso serve --workers N` runs it (BENCH_WORKERS, default 2): the real CLI, its
// node:cluster primary and N workers on one port and one SQLite file. The account and the SSO
// session are made first in this process (webiso-setup.ts) on the same data directory; the
// primary tells us it serves over the IPC channel ('ready'), since at logLevel warn it logs nothing.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { announceAndServe, freePort, HOST } from './child.ts';
import { benchConfig, grantAlgorithm, loginPath, logIn, PASSWORD, USERNAME } from './webiso-setup.ts';

// not bench/processes.ts's path(): importing it would install the harness's own signal handlers here
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const workers = process.env.BENCH_WORKERS ?? '2';
const dataDir = mkdtempSync(join(tmpdir(), 'webiso-bench-workers-'));
const port = await freePort();
const raw = benchConfig(dataDir, port);
const configPath = join(dataDir, 'webiso.yaml');
// JSON is YAML: the file `webiso serve` reads is exactly this object
writeFileSync(configPath, JSON.stringify(raw));

async function prepare(): Promise<string> {
  const app = await buildApp(parseConfig(raw), { logger: false });
  try {
    await app.webiso.users.add(USERNAME, await hashPassword(PASSWORD), [], new Date());
    return await logIn(app);
  } finally {
    await app.close();
  }
}

function startCli(nodeFlags: string[]): Promise<ChildProcess> {
  // its stdout (warnings only, at logLevel warn) goes to our stderr: our stdout is the harness's line
  const child = fork(CLI, ['serve', '--workers', workers], { execArgv: ['--import', 'tsx', ...nodeFlags], env: { ...process.env, WEBISO_CONFIG: configPath }, stdio: ['ignore', 2, 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`webiso serve --workers ${workers} not ready after 120 s`)), 120_000);
    child.once('exit', (code, signal) => reject(new Error(`webiso serve --workers ${workers} exited (code ${code}, signal ${signal})`)));
    child.on('message', (message) => {
      if (message !== 'ready') return;
      clearTimeout(timer);
      resolve(child);
    });
  });
}

async function stopCli(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

try {
  const ssoCookie = await prepare();
  // BENCH_CPU_PROF reaches the workers through execArgv: node:cluster forks them with the primary's flags
  const profiling = process.execArgv.filter((flag) => flag.startsWith('--cpu-prof'));
  const cli = await startCli(profiling);
  const info = { url: `http://${HOST}:${port}`, issuer: raw.issuer, alg: grantAlgorithm, workers: Number(workers), loginPath, cookie: `__Host-webiso_login=${ssoCookie}` };
  announceAndServe(info, async () => {
    await stopCli(cli);
    rmSync(dataDir, { recursive: true, force: true });
  });
} catch (error) {
  rmSync(dataDir, { recursive: true, force: true });
  throw error;
}
