// `npm run bench`: every path webiso serves under load, each against two baselines measured in the
// same run — (b) bare Fastify, (c) bare Fastify signing one JWS per request — plus grant verification
// in webiso/client against raw crypto.verify, and password logins with the event loop watched; and
// the SSO redirect with `webiso serve --workers 2` beside the signing limit in two processes, and the
// SSO redirect with the store on PostgreSQL.
import { cpus } from 'node:os';
import { checkBare, checkCas, checkMachinePath, checkSigning, checkSsoRedirect, type BareInfo, type SigningInfo, type SsoInfo, type WebisoInfo } from './checks.ts';
import { autocannonCli, drive, ticketValidationDriver, type Measurement } from './load.ts';
import { readSettings, runMicro, startServer, stop, type Settings } from './processes.ts';
import { startPostgres, type PostgresServer } from '../test/support/postgres.ts';
import { renderSummary, SCALING_WORKERS, TARGETS, writeReport, writeResultsJson, type BenchReport, type ClientVerification, type PasswordLogins } from './report.ts';

const html = (cookie: string) => ({ accept: 'text/html', cookie });

async function measureWebiso(settings: Settings, alg: 'EdDSA' | 'ES256', full: boolean, postgres?: PostgresServer) {
  const profiling = settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`] : [];
  const store: Record<string, string> = postgres ? { BENCH_PG_URL: postgres.url, BENCH_PG_PASSWORD_FILE: postgres.passwordFile } : {};
  const { child, info } = await startServer<WebisoInfo>('bench/servers/webiso-server.ts', { BENCH_ALG: alg, ...store }, profiling);
  try {
    await checkSsoRedirect(info);
    const measured: Record<string, Measurement> = {};
    measured[`sso-${alg}`] = await drive(`SSO redirect (${alg})${postgres ? ', PostgreSQL' : ''}`, autocannonCli(settings, info.url + info.loginPath, html(info.cookie)));
    if (full) {
      await checkMachinePath(info);
      await checkCas(info);
      measured.machine = await drive(`machine path (${alg})`, autocannonCli(settings, info.url + info.machinePath, html(info.machineCookie)));
      measured.casLogin = await drive('CAS /cas/login with SSO (302 + ticket)', autocannonCli(settings, info.url + info.casLoginPath, html(info.cookie)), 302);
      measured.casValidate = await drive('CAS /cas/p3/serviceValidate, fresh ticket', ticketValidationDriver(settings, info.url, info.ticketsFile, info.casService));
    }
    return measured;
  } finally {
    await stop(child);
  }
}

/** The SSO redirect through the real `webiso serve --workers N`: N processes on one port and one SQLite file. */
async function measureWorkers(settings: Settings, workers: number): Promise<Measurement> {
  const profiling = settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`] : [];
  const { child, info } = await startServer<SsoInfo>('bench/servers/webiso-workers.ts', { BENCH_ALG: 'EdDSA', BENCH_WORKERS: String(workers) }, profiling);
  try {
    await checkSsoRedirect(info);
    return await drive(`SSO redirect (EdDSA), --workers ${workers}`, autocannonCli(settings, info.url + info.loginPath, html(info.cookie)));
  } finally {
    await stop(child);
  }
}

async function measureBaseline(settings: Settings, script: string, env: Record<string, string>, label: string, verify: (info: SigningInfo) => Promise<void>): Promise<Measurement> {
  const { child, info } = await startServer<SigningInfo>(script, env);
  try {
    await verify(info);
    return await drive(label, autocannonCli(settings, `${info.url}/`, { accept: 'text/html' }));
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  console.log(`measuring: ${settings.connections} connections, ${settings.warmup} s warm-up + ${settings.duration} s per target, one target at a time`);
  const bare = await measureBaseline(settings, 'bench/servers/bare-server.ts', {}, '(b) bare Fastify hello', (info: BareInfo) => checkBare(info));
  const signingEdDSA = await measureBaseline(settings, 'bench/servers/signing-server.ts', { BENCH_ALG: 'EdDSA' }, '(c) signing limit, EdDSA', checkSigning);
  const signingEdDSAWorkers = await measureBaseline(settings, 'bench/servers/signing-server.ts', { BENCH_ALG: 'EdDSA', BENCH_WORKERS: String(SCALING_WORKERS) }, `(c) signing limit, EdDSA, ${SCALING_WORKERS} processes`, checkSigning);
  const signingES256 = await measureBaseline(settings, 'bench/servers/signing-server.ts', { BENCH_ALG: 'ES256' }, '(c) signing limit, ES256', checkSigning);
  const eddsa = await measureWebiso(settings, 'EdDSA', true);
  const ssoWorkers = await measureWorkers(settings, SCALING_WORKERS);
  const es256 = await measureWebiso(settings, 'ES256', false);
  // the same SSO redirect with the store on PostgreSQL (loopback, started from Debian's packages)
  const postgres = await startPostgres();
  const onPostgres = await measureWebiso(settings, 'EdDSA', false, postgres).finally(() => postgres.stop());
  const clientVerification = await runMicro<ClientVerification>('bench/micro/client-verify.ts', [String(settings.duration), 'EdDSA']);
  const passwordLogins = await runMicro<PasswordLogins>('bench/micro/password-logins.ts', [String(settings.duration)]);
  const at = (key: string, source: Record<string, Measurement>) => {
    const value = source[key];
    if (!value) throw new Error(`no measurement ${key}`);
    return value;
  };
  const report: BenchReport = {
    date: new Date(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
    command: 'npm run bench',
    settings,
    baselines: { bare, signingEdDSA, signingES256 },
    paths: [
      { measurement: at('sso-EdDSA', eddsa), signing: 'EdDSA', minOfSigning: TARGETS.ssoOfSigning },
      { measurement: at('sso-ES256', es256), signing: 'ES256', minOfSigning: TARGETS.ssoOfSigning },
      { measurement: at('sso-EdDSA', onPostgres), signing: 'EdDSA', minOfSigning: TARGETS.ssoOfSigning },
      { measurement: at('machine', eddsa), signing: 'EdDSA', minOfSigning: TARGETS.machineOfSigning },
      { measurement: at('casLogin', eddsa), minOfBare: TARGETS.casOfBare },
      { measurement: at('casValidate', eddsa), minOfBare: TARGETS.casOfBare },
    ],
    clientVerification,
    passwordLogins,
    workers: { count: SCALING_WORKERS, sso: ssoWorkers, ssoOneProcess: at('sso-EdDSA', eddsa), signing: signingEdDSAWorkers },
  };
  console.log(`\n${renderSummary(report)}`);
  const json = writeResultsJson(report);
  writeReport(report);
  console.log(`\nwritten to docs/performance.md and ${json} (missing a target is reported, not an error)`);
  if (settings.cpuProfDir) console.log(`CPU profiles of the webiso children written to ${settings.cpuProfDir}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
