/**
 * The mission's SAML chain on loopback, built from real relying software (Debian packages):
 *
 *   Shibboleth SP 3 (Apache + mod_shib + shibd)  --SAML 2-->  SimpleSAMLphp 1.19 IdP  --CAS-->  webiso
 *
 * The IdP authenticates every request with its `cas:CAS` source at webiso and turns webiso's CAS
 * attributes into eduPersonScopedAffiliation (test/fixtures/saml-chain/metadata/saml20-idp-hosted.php):
 * a machine with the entitlement library-walk-in gets library-walk-in@example.edu and no person
 * identifier; a person gets member@example.edu and eppn <user>@example.edu. The SP serves
 *   /secure/   Require shib-session
 *   /walkin/   Require shib-attr affiliation library-walk-in@example.edu
 * with a CGI printing REMOTE_USER, affiliation, eppn and the other identifiers. Register
 * `casService` as a CAS service of webiso (flavor machineoruser). A missing package throws.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APACHE_MODULES, findApache, prepareServerRoot, readErrorLog, requireFiles, spawnApache, stopAll } from './apache.ts';
import { findBinary, freeTcpPort, makeTempDir, runTool, startWithPortRetry, waitUntilServing } from './process.ts';

const INSTALL_HINT = 'install the Debian packages apache2 libapache2-mod-shib simplesamlphp php-xml php-mbstring';
const FIXTURES = fileURLToPath(new URL('../fixtures/saml-chain/', import.meta.url));
const SIMPLESAMLPHP_WWW = '/usr/share/simplesamlphp/www';
const SHIB_DEFAULTS = '/etc/shibboleth';
const SHIB_HELPER_FILES = ['attribute-map.xml', 'attribute-policy.xml', 'security-policy.xml', 'protocols.xml'];
const READY_MS = 5000;

export interface StartSamlChainOptions {
  /** where the browser is sent by the IdP: `${webisoUrl}/cas` */
  readonly casLoginBase: string;
  /** the IdP's back channel to webiso: `http://127.0.0.1:PORT/cas` */
  readonly casBase: string;
}

export interface SamlChain {
  /** the SP, e.g. http://127.0.0.1:PORT (no trailing slash) */
  readonly spUrl: string;
  /** the IdP's base URL, with a trailing slash */
  readonly idpUrl: string;
  readonly idpEntityId: string;
  /** SimpleSAMLphp's CAS linkback: the service to register at webiso */
  readonly casService: string;
  readonly dir: string;
  /** the tails of every log, for assertion messages */
  readLogs(): Promise<string>;
  stop(): Promise<void>;
}

export function startSamlChain(options: StartSamlChainOptions): Promise<SamlChain> {
  return startWithPortRetry(() => startOnce(options));
}

async function startOnce({ casLoginBase, casBase }: StartSamlChainOptions): Promise<SamlChain> {
  const php = findBinary('php', INSTALL_HINT);
  const shibd = findBinary('shibd', INSTALL_HINT);
  const openssl = findBinary('openssl', 'install openssl');
  const apache = findApache(INSTALL_HINT);
  requireFiles([join(APACHE_MODULES, 'mod_shib.so'), join(SIMPLESAMLPHP_WWW, 'module.php'), ...SHIB_HELPER_FILES.map((f) => join(SHIB_DEFAULTS, f))], INSTALL_HINT);
  await requirePhpDom(php);

  const dir = await makeTempDir('webiso-saml-chain-');
  const idpDir = join(dir, 'idp');
  const spDir = join(dir, 'sp');
  const children: ChildProcess[] = [];
  const logs = () => readLogs(idpDir, spDir);
  try {
    await chmod(dir, 0o755);
    for (const sub of ['config', 'metadata', 'cert', 'log', 'data', 'tmp', 'sessions']) await mkdir(join(idpDir, sub), { recursive: true });
    await prepareServerRoot(spDir);
    const [idpPort, spPort] = [await freeTcpPort(), await freeTcpPort()];
    const idpUrl = `http://127.0.0.1:${idpPort}/`;
    const spUrl = `http://127.0.0.1:${spPort}`;
    const idpEntityId = `${idpUrl}saml2/idp/metadata.php`;

    // SimpleSAMLphp, from its packaged www dir with this config dir
    for (const f of ['config.php', 'authsources.php']) await copyFile(join(FIXTURES, f), join(idpDir, 'config', f));
    for (const f of ['saml20-idp-hosted.php', 'saml20-sp-remote.php']) await copyFile(join(FIXTURES, 'metadata', f), join(idpDir, 'metadata', f));
    await selfSigned(openssl, join(idpDir, 'cert', 'idp.key'), join(idpDir, 'cert', 'idp.crt'));
    const idp = spawnLogged(php, ['-S', `127.0.0.1:${idpPort}`, '-t', SIMPLESAMLPHP_WWW], join(idpDir, 'log', 'php-server.log'), {
      SIMPLESAMLPHP_CONFIG_DIR: join(idpDir, 'config'),
      IDP_DIR: idpDir,
      IDP_BASE: idpUrl,
      CAS_LOGIN_BASE: casLoginBase,
      CAS_BASE: casBase,
      SP_BASE: spUrl,
      // a few workers: one slow or idle browser connection must not stall the IdP
      PHP_CLI_SERVER_WORKERS: '4',
    });
    children.push(idp);
    await waitUntilServing(idp, idpPort, { name: 'php -S (SimpleSAMLphp)', readLog: logs });
    const metadata = await poll('the IdP metadata', logs, async () => {
      const response = await fetch(idpEntityId);
      const body = await response.text();
      return response.status === 200 && body.includes('IDPSSODescriptor') ? body : undefined;
    });

    // shibd: its config takes no environment, so the placeholders are filled in here
    await writeFile(join(spDir, 'idp-metadata.xml'), metadata);
    const template = await readFile(join(FIXTURES, 'shibboleth2.xml'), 'utf8');
    await writeFile(join(spDir, 'shibboleth2.xml'), template.replaceAll('@SP_DIR@', spDir).replaceAll('@SP_BASE@', spUrl).replaceAll('@IDP_ENTITY@', idpEntityId));
    for (const f of SHIB_HELPER_FILES) await copyFile(join(SHIB_DEFAULTS, f), join(spDir, f));
    for (const f of ['shibd.logger', 'native.logger']) await copyFile(join(FIXTURES, 'console.logger'), join(spDir, f));
    await selfSigned(openssl, join(spDir, 'sp-key.pem'), join(spDir, 'sp-cert.pem'));
    // SHIBSP_LOGGING: without it shibd writes its first lines to /var/log/shibboleth
    const shib = spawnLogged(shibd, ['-F', '-f', '-c', join(spDir, 'shibboleth2.xml'), '-p', join(spDir, 'run', 'shibd.pid')], join(spDir, 'logs', 'shibd.log'), {
      SHIBSP_LOGGING: join(spDir, 'shibd.logger'),
    });
    children.push(shib);
    await poll('the shibd socket', logs, async () => existsSync(join(spDir, 'run', 'shibd.sock')) || undefined, shib);

    const apacheConf = join(spDir, 'httpd.conf');
    await copyFile(join(FIXTURES, 'apache-shib.conf'), apacheConf);
    await copyFile(join(FIXTURES, 'env.cgi'), join(spDir, 'cgi-bin', 'env.cgi'));
    await chmod(join(spDir, 'cgi-bin', 'env.cgi'), 0o755);
    const sp = await spawnApache({
      binary: apache,
      dir: spDir,
      confPath: apacheConf,
      name: 'apache2 (mod_shib)',
      ports: [spPort],
      env: { SP_DIR: spDir, SP_BASE: spUrl, SP_PORT: String(spPort), SHIBSP_LOGGING: join(spDir, 'native.logger') },
    });
    children.unshift(sp); // stopped first
    await poll('the SP status handler', logs, async () => {
      const body = await (await fetch(`${spUrl}/Shibboleth.sso/Status`)).text();
      return body.includes('<SessionCache><OK/>') || undefined;
    });

    return { spUrl, idpUrl, idpEntityId, casService: `${idpUrl}module.php/cas/linkback.php`, dir, readLogs: logs, stop: stopAll(children, dir) };
  } catch (err) {
    await stopAll(children, dir)();
    throw err;
  }
}

/** SimpleSAMLphp needs DOM, which the simplesamlphp package does not pull in. */
async function requirePhpDom(php: string): Promise<void> {
  const { stdout } = await runTool(php, ['-m']);
  if (!/^dom$/im.test(stdout)) throw new Error(`test harness: PHP has no DOM extension (${INSTALL_HINT})`);
}

function selfSigned(openssl: string, keyPath: string, certPath: string) {
  return runTool(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1']);
}

/** In its own process group, so that stop() reaches php's forked workers too. */
function spawnLogged(binary: string, args: readonly string[], logPath: string, env: Record<string, string>): ChildProcess {
  const log = openSync(logPath, 'a');
  const child = spawn(binary, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', ...env }, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  return child;
}

/** Polls until check() gives a value; throws with the logs on timeout or if `child` died. */
async function poll<T>(what: string, logs: () => Promise<string>, check: () => Promise<T | undefined>, child?: ChildProcess): Promise<T> {
  const deadline = Date.now() + READY_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) break;
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`saml-chain: ${what} not ready (${String(last ?? (child?.exitCode !== null ? `exited ${child?.exitCode}` : 'timeout'))})\n${await logs()}`);
}

async function readLogs(idpDir: string, spDir: string): Promise<string> {
  const files = [join(idpDir, 'log', 'simplesamlphp.log'), join(idpDir, 'log', 'php-server.log'), join(spDir, 'logs', 'shibd.log'), join(spDir, 'logs', 'stdout.log')];
  const parts = await Promise.all(files.map(async (f) => `--- ${f}\n${(await readFile(f, 'utf8').catch(() => '(none)')).slice(-4000)}`));
  return [...parts, `--- sp error.log\n${(await readErrorLog(spDir)).slice(-4000)}`].join('\n');
}
