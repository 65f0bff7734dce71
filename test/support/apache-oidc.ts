/**
 * A throwaway Apache 2.4 with the real mod_auth_openidc (Debian libapache2-mod-auth-openidc) on
 * loopback, as two OpenID Connect clients of webiso (test/fixtures/oidc-clients/apache-oidc.conf):
 * the `people` virtual host (client apache-people, ES256 ID tokens) and the `kiosk` one (client
 * apache-kiosk, RS256). Each protects /secure/ with one CGI that prints REMOTE_USER and the
 * OIDC_CLAIM_* variables; each one's redirect URI is /secure/redirect_uri, which with
 * `?logout=backchannel` is its back-channel logout endpoint. A missing module throws: never a skip.
 */
import { chmod, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APACHE_MODULES, findApache, prepareServerRoot, readErrorLog, requireFiles, spawnApache, stopAll } from './apache.ts';
import { freeTcpPort, makeTempDir } from './process.ts';

const INSTALL_HINT = 'install the Debian packages apache2 and libapache2-mod-auth-openidc';
const FIXTURES = fileURLToPath(new URL('../fixtures/oidc-clients/', import.meta.url));

export type OidcVhost = 'people' | 'kiosk';

export interface ApacheOidcPorts {
  readonly people: number;
  readonly kiosk: number;
}

export interface ApacheOidc {
  readonly urls: Readonly<Record<OidcVhost, string>>;
  readonly dir: string;
  readErrorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** The ports come first: webiso's config needs the clients' redirect URIs before Apache can start. */
export async function reserveApacheOidcPorts(): Promise<ApacheOidcPorts> {
  return { people: await freeTcpPort(), kiosk: await freeTcpPort() };
}

export const redirectUriOf = (port: number) => `http://127.0.0.1:${port}/secure/redirect_uri`;

export interface StartApacheOidcOptions {
  readonly ports: ApacheOidcPorts;
  /** webiso's OP issuer (`${webisoUrl}/oidc`); discovery is read from under it */
  readonly issuer: string;
  readonly clientSecret: string;
}

/** No port retry: webiso already registered these ports' redirect URIs. */
export function startApacheOidc(options: StartApacheOidcOptions): Promise<ApacheOidc> {
  return startOnce(options);
}

async function startOnce({ ports, issuer, clientSecret }: StartApacheOidcOptions): Promise<ApacheOidc> {
  const binary = findApache(INSTALL_HINT);
  requireFiles([join(APACHE_MODULES, 'mod_auth_openidc.so'), join(APACHE_MODULES, 'mod_authz_user.so')], INSTALL_HINT);
  const dir = await makeTempDir('webiso-apache-oidc-');
  try {
    await prepareServerRoot(dir);
    const confPath = join(dir, 'httpd.conf');
    await copyFile(join(FIXTURES, 'apache-oidc.conf'), confPath);
    const cgi = join(dir, 'cgi-bin', 'env.cgi');
    await copyFile(join(FIXTURES, 'env.cgi'), cgi);
    await chmod(cgi, 0o755);
    const child = await spawnApache({
      binary,
      dir,
      confPath,
      name: 'apache2 (mod_auth_openidc)',
      ports: [ports.people, ports.kiosk],
      env: { RP_DIR: dir, PEOPLE_PORT: String(ports.people), KIOSK_PORT: String(ports.kiosk), OP_ISSUER: issuer, CLIENT_SECRET: clientSecret },
    });
    const url = (port: number) => `http://127.0.0.1:${port}`;
    return { urls: { people: url(ports.people), kiosk: url(ports.kiosk) }, dir, readErrorLog: () => readErrorLog(dir), stop: stopAll([child], dir) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

