/**
 * A throwaway MIT Kerberos KDC on loopback for tests.
 *
 * Everything (database, stash, logs, krb5.conf, kdc.conf, keytab) lives in one temp dir that
 * stop() removes. A missing binary or a failing tool throws with the tool's stderr: the
 * Kerberos tests must fail loudly on a machine without krb5-kdc, never skip.
 *
 * Calling startKdc twice with the same realm gives a second, independent ("rogue") KDC: its
 * own master key, its own random service key and its own keytab.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { abandonStart, findBinary, freeTcpPort, makeTempDir, restartable, runTool, startWithPortRetry, waitUntilServing } from './process.ts';

export interface KdcPrincipal {
  readonly name: string;
  readonly password?: string;
  /** a service principal with a random key (the default when no password is given) */
  readonly randkey?: boolean;
}

export interface StartKdcOptions {
  readonly realm?: string;
  /** defaults to alice / bob with the same passwords as the slapd fixture */
  readonly principals?: readonly KdcPrincipal[];
  /** webiso's own service principal, exported to keytabPath (without the realm) */
  readonly servicePrincipal?: string;
}

export interface Kdc {
  readonly realm: string;
  readonly port: number;
  readonly dir: string;
  /** a krb5.conf whose realm points at this KDC only (pass it as KRB5_CONFIG) */
  readonly krb5ConfPath: string;
  readonly keytabPath: string;
  /** with the realm, e.g. HTTP/login.test.webiso@TEST.WEBISO */
  readonly servicePrincipal: string;
  /** a user with a password, or a service principal with a random key when password is omitted */
  addPrincipal(name: string, password?: string): Promise<void>;
  /** fault tests: SIGKILL, then start again on the same port and database */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_REALM = 'TEST.WEBISO';
export const DEFAULT_SERVICE = 'HTTP/login.test.webiso';
export const DEFAULT_KDC_USERS: readonly KdcPrincipal[] = [
  { name: 'alice', password: 'alice-password-1' },
  { name: 'bob', password: 'bob-password-1' },
];

const INSTALL_HINT = 'install krb5-kdc, krb5-admin-server and krb5-user';

export function startKdc(opts: StartKdcOptions = {}): Promise<Kdc> {
  return startWithPortRetry(() => startKdcOnce(opts));
}

async function startKdcOnce(opts: StartKdcOptions): Promise<Kdc> {
  const realm = opts.realm ?? DEFAULT_REALM;
  const service = opts.servicePrincipal ?? DEFAULT_SERVICE;
  const binaries = {
    kdb5Util: findBinary('kdb5_util', INSTALL_HINT),
    kadmin: findBinary('kadmin.local', INSTALL_HINT),
    krb5kdc: findBinary('krb5kdc', INSTALL_HINT),
  };
  const dir = await makeTempDir('webiso-kdc-');
  let kdcProcess: ChildProcess | undefined;
  try {
    const port = await freeUdpAndTcpPort();
    const paths = {
      krb5Conf: join(dir, 'krb5.conf'),
      kdcConf: join(dir, 'kdc.conf'),
      keytab: join(dir, 'service.keytab'),
      log: join(dir, 'kdc.log'),
    };
    await writeFile(paths.krb5Conf, krb5Conf(realm, port));
    await writeFile(paths.kdcConf, kdcConf(realm, port, dir, paths.log));
    // LC_ALL=C: the tools' messages are matched below and are translated otherwise.
    const env = { PATH: process.env.PATH ?? '', LC_ALL: 'C', KRB5_CONFIG: paths.krb5Conf, KRB5_KDC_PROFILE: paths.kdcConf };

    await runTool(binaries.kdb5Util, ['create', '-s', '-r', realm, '-P', randomBytes(24).toString('base64url')], { env });
    const addPrincipal = (name: string, password?: string) => kadminAddPrincipal(binaries.kadmin, env, name, password);
    for (const p of opts.principals ?? DEFAULT_KDC_USERS) {
      await addPrincipal(p.name, p.randkey ? undefined : p.password);
    }
    await addPrincipal(service);
    await kadminQuery(binaries.kadmin, env, `ktadd -k ${paths.keytab} ${service}`, /added to keytab/);

    const spawnKdc = () => spawn(binaries.krb5kdc, ['-n'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    kdcProcess = spawnKdc();
    await waitUntilServing(kdcProcess, port, { name: 'krb5kdc', readLog: () => readFile(paths.log, 'utf8').catch(() => '') });
    const lifecycle = restartable(kdcProcess, dir, port, 'krb5kdc', spawnKdc);
    return {
      realm,
      port,
      dir,
      krb5ConfPath: paths.krb5Conf,
      keytabPath: paths.keytab,
      servicePrincipal: `${service}@${realm}`,
      addPrincipal,
      ...lifecycle,
    };
  } catch (err) {
    await abandonStart(kdcProcess, dir);
    throw err;
  }
}

function krb5Conf(realm: string, port: number): string {
  return `[libdefaults]
  default_realm = ${realm}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false

[realms]
  ${realm} = {
    kdc = 127.0.0.1:${port}
  }
`;
}

function kdcConf(realm: string, port: number, dir: string, logPath: string): string {
  // kdc_listen binds loopback only (kdc_ports would listen on every interface).
  return `[kdcdefaults]
  kdc_listen = 127.0.0.1:${port}
  kdc_tcp_listen = 127.0.0.1:${port}

[realms]
  ${realm} = {
    database_name = ${join(dir, 'principal')}
    key_stash_file = ${join(dir, 'stash')}
    acl_file = ${join(dir, 'kadm5.acl')}
    kdc_listen = 127.0.0.1:${port}
    kdc_tcp_listen = 127.0.0.1:${port}
  }

[logging]
  kdc = FILE:${logPath}
`;
}

/** kadmin.local exits 0 even when a query fails, so success is recognised by its message. */
async function kadminQuery(kadmin: string, env: NodeJS.ProcessEnv, query: string, expect: RegExp, input?: string) {
  const { stdout, stderr } = await runTool(kadmin, ['-q', query], { env, input });
  if (!expect.test(stdout + stderr)) throw new Error(`kadmin.local -q "${query}" failed:\n${stderr}${stdout}`);
}

async function kadminAddPrincipal(kadmin: string, env: NodeJS.ProcessEnv, name: string, password?: string) {
  if (password === undefined) {
    await kadminQuery(kadmin, env, `addprinc -randkey ${name}`, /Principal ".*" created/);
    return;
  }
  // The password goes through the prompt on stdin: kadmin's -q parser would mangle quotes and spaces.
  if (/[\r\n]/.test(password)) throw new Error('test KDC: passwords cannot contain line breaks');
  await kadminQuery(kadmin, env, `addprinc ${name}`, /Principal ".*" created/, `${password}\n${password}\n`);
}

/** A port that is free for both UDP and TCP on 127.0.0.1 right now. */
async function freeUdpAndTcpPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeTcpPort();
    if (await udpPortFree(port)) return port;
  }
  throw new Error('test KDC: no free UDP+TCP port found');
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.on('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}
