// Node 20's test runner does not expand globs, so the suite is found by walking test/.
//
// The suite runs twice (issue 9): once on SQLite, the embedded default, and once on PostgreSQL,
// started for the pass from Debian's packages (test/support/postgres-suite.ts) with every test's
// store a fresh schema in it (test/support/test-store.ts). Files that never open a store (the
// client library, pure parsers) or that choose their engines themselves (test/store/) run in the
// SQLite pass only. WEBISO_TEST_ENGINES=sqlite or =postgres runs one pass; naming files runs just those.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';

const root = new URL('.', import.meta.url).pathname;

/** Run once: no store involved, or the file starts the engines it tests (its own PostgreSQL). */
const ONE_PASS = [
  'test/client/',
  'test/deps/',
  // a minute of load: the SQLite pass is the one the bound was measured on
  'test/durability/soak.test.ts',
  'test/store/',
  'test/config/load.test.ts',
  'test/crypto/',
  'test/cli/read-password.test.ts',
  'test/http/constant-time.test.ts',
  'test/i18n/catalog.test.ts',
  'test/login/return-url.test.ts',
  'test/ops/build.test.ts',
  'test/time-format.test.ts',
  'test/verifiers/hash-concurrency.test.ts',
  'test/verifiers/kerberos.test.ts',
  'test/verifiers/ldap.test.ts',
];

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function runFiles(files, env) {
  if (files.length === 0) return 0;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'test', ...env },
  });
  return result.status ?? 1;
}

/** Starts the pass's PostgreSQL; resolves with its address and a stop function. */
function startSuitePostgres() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'support/postgres-suite.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`test/run.mjs: PostgreSQL for the suite did not start (exit ${code})`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      const server = JSON.parse(line);
      resolve({
        ...server,
        stop: () =>
          new Promise((done) => {
            child.removeAllListeners('exit');
            child.once('exit', done);
            child.stdin.end();
          }),
      });
    });
  });
}

const only = process.argv.slice(2);
const files = (only.length > 0 ? only : findTests(root).map((f) => relative(process.cwd(), f))).sort();
if (files.length === 0) {
  console.error('test/run.mjs: no test files found');
  process.exit(1);
}
const engines = (process.env.WEBISO_TEST_ENGINES ?? 'sqlite,postgres').split(',');
let status = 0;
if (engines.includes('sqlite')) {
  console.log(`test/run.mjs: SQLite pass, ${files.length} files`);
  status = runFiles(files, { WEBISO_TEST_STORE: 'sqlite' });
}
const postgresFiles = only.length > 0 ? files : files.filter((file) => !ONE_PASS.some((prefix) => file.startsWith(prefix)));
if (engines.includes('postgres') && postgresFiles.length > 0) {
  console.log(`test/run.mjs: PostgreSQL pass, ${postgresFiles.length} files`);
  const postgres = await startSuitePostgres();
  try {
    const pgStatus = runFiles(postgresFiles, { WEBISO_TEST_STORE: 'postgres', WEBISO_TEST_PG_URL: postgres.url, WEBISO_TEST_PG_PASSWORD_FILE: postgres.passwordFile });
    status = status || pgStatus;
  } finally {
    await postgres.stop();
  }
}
process.exit(status);
