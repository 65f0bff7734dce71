/**
 * A throwaway Apache 2.4 with the real mod_auth_cas (Debian libapache2-mod-auth-cas) on loopback,
 * as a CAS relying party of webiso. One server, three virtual hosts, one per validation endpoint:
 * `p3` (CASVersion 2 against /cas/p3/serviceValidate), `v2` (CASVersion 2 against
 * /cas/serviceValidate) and `v1` (CASVersion 1 against /cas/validate). Each host serves the same
 * protected paths (test/fixtures/cas-clients/apache-cas.conf):
 *
 *   /secure/, /other/   Require valid-user
 *   /kiosk/             Require valid-user (register it under a machineoruser app)
 *   /machines-only/     Require cas-attribute principalType:machine
 *   /renew/             CASRenew: webiso is asked for renew=true
 *
 * Every path runs one CGI that prints REMOTE_USER and the CAS-* headers (HTTP_CAS_*).
 * The temp dir is removed by stop(). A missing binary or module throws: never a skip.
 */
import { chmod, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APACHE_MODULES, errorLogOf, findApache, prepareServerRoot, readErrorLog, requireFiles, spawnApache, stopAll } from './apache.ts';
import { freeTcpPort, makeTempDir, startWithPortRetry } from './process.ts';

const INSTALL_HINT = 'install the Debian packages apache2 and libapache2-mod-auth-cas';
const FIXTURES = fileURLToPath(new URL('../fixtures/cas-clients/', import.meta.url));

export type CasVhost = 'p3' | 'v2' | 'v1';

export interface StartApacheCasOptions {
  /** where the browser is sent to log in: `${webisoUrl}/cas/login` */
  readonly loginUrl: string;
  /** the back channel's CAS base, without a trailing slash: `http://127.0.0.1:PORT/cas` */
  readonly casBase: string;
  /** `CASSSOEnabled On`: honour webiso's CAS single-logout POSTs (off by default, as in mod_auth_cas) */
  readonly singleSignOut?: boolean;
}

export interface ApacheCas {
  /** base URL (no trailing slash) of each virtual host, e.g. `http://127.0.0.1:PORT` */
  readonly urls: Readonly<Record<CasVhost, string>>;
  readonly dir: string;
  readonly errorLogPath: string;
  /** the error log, for assertion messages */
  readErrorLog(): Promise<string>;
  stop(): Promise<void>;
}

export function startApacheCas(options: StartApacheCasOptions): Promise<ApacheCas> {
  return startWithPortRetry(() => startOnce(options));
}

async function startOnce({ loginUrl, casBase, singleSignOut = false }: StartApacheCasOptions): Promise<ApacheCas> {
  const binary = findApache(INSTALL_HINT);
  requireFiles([join(APACHE_MODULES, 'mod_auth_cas.so'), join(APACHE_MODULES, 'mod_authz_user.so')], INSTALL_HINT);
  const dir = await makeTempDir('webiso-apache-cas-');
  try {
    // mod_auth_cas writes one session file per login into CASCookiePath, as the Apache user
    await prepareServerRoot(dir, ['cache', 'cache/p3', 'cache/v2', 'cache/v1']);
    const confPath = join(dir, 'httpd.conf');
    await copyFile(join(FIXTURES, 'apache-cas.conf'), confPath);
    const cgi = join(dir, 'cgi-bin', 'env.cgi');
    await copyFile(join(FIXTURES, 'env.cgi'), cgi);
    await chmod(cgi, 0o755);

    const ports = { p3: await freeTcpPort(), v2: await freeTcpPort(), v1: await freeTcpPort() };
    const child = await spawnApache({
      binary,
      dir,
      confPath,
      name: 'apache2 (mod_auth_cas)',
      ports: Object.values(ports),
      env: { RP_DIR: dir, P3_PORT: String(ports.p3), V2_PORT: String(ports.v2), V1_PORT: String(ports.v1), CAS_LOGIN_URL: loginUrl, CAS_BASE: casBase, CAS_SSO: singleSignOut ? 'On' : 'Off' },
    });
    const url = (port: number) => `http://127.0.0.1:${port}`;
    return {
      urls: { p3: url(ports.p3), v2: url(ports.v2), v1: url(ports.v1) },
      dir,
      errorLogPath: errorLogOf(dir),
      readErrorLog: () => readErrorLog(dir),
      stop: stopAll([child], dir),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true }); // spawnApache stopped a server that failed to start
    throw err;
  }
}

/** The `NAME=value` lines the protected CGI printed, as a record (REMOTE_USER, HTTP_CAS_*). */
export function parseCgiEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  return env;
}
