/**
 * A throwaway OpenLDAP slapd on loopback for tests, with a small directory already loaded.
 *
 * Everything lives in one temp dir that stop() removes. A missing binary or a failing tool
 * throws with the tool's stderr: the LDAP tests must fail loudly, never skip.
 *
 * Default tree (suffix dc=test,dc=webiso):
 *   ou=people: uid=alice ("alice-password-1"), uid=bob ("bob-password-1"), uid=carol
 *     ("carol-password-1"), and cn=Odd User with uid `odd*(user)\` ("odd-password-1") to prove
 *     that filter escaping finds exactly that entry
 *   cn=webiso-reader: the service account (servicePassword)
 *   ou=groups: cn=webiso-admins (member alice), cn=library-staff (member bob)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { abandonStart, findBinary, freeTcpPort, makeTempDir, restartable, runTool, startWithPortRetry, waitUntilServing } from './process.ts';

export interface StartSlapdOptions {
  /** `allow bind_anon_dn`: a DN with an empty password binds as anonymous (AD-like, RFC 4513 §5.1.2) */
  readonly allowAnonBindDn?: boolean;
  /** let anonymous clients search (default true); false forces the service bind */
  readonly anonymousSearch?: boolean;
  /** extra entries loaded after the default tree */
  readonly ldif?: string;
}

export interface Slapd {
  readonly url: string;
  readonly port: number;
  readonly baseDn: string;
  readonly peopleDn: string;
  readonly groupsDn: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  readonly serviceDn: string;
  readonly servicePassword: string;
  readonly dir: string;
  /** fault tests: SIGKILL, then start again on the same port and data */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const BASE_DN = 'dc=test,dc=webiso';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;
export const LDAP_USERS = {
  alice: 'alice-password-1',
  bob: 'bob-password-1',
  carol: 'carol-password-1',
  'odd*(user)\\': 'odd-password-1',
} as const;

const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';
const INSTALL_HINT = 'install slapd and ldap-utils';

export function startSlapd(opts: StartSlapdOptions = {}): Promise<Slapd> {
  return startWithPortRetry(() => startSlapdOnce(opts));
}

async function startSlapdOnce(opts: StartSlapdOptions): Promise<Slapd> {
  const slapdBinary = findBinary('slapd', INSTALL_HINT);
  const ldapadd = findBinary('ldapadd', INSTALL_HINT);
  const dir = await makeTempDir('webiso-slapd-');
  let child: ChildProcess | undefined;
  try {
    const port = await freeTcpPort();
    const url = `ldap://127.0.0.1:${port}`;
    const rootDn = `cn=admin,${BASE_DN}`;
    const rootPassword = randomBytes(18).toString('base64url');
    const servicePassword = randomBytes(18).toString('base64url');
    const confPath = join(dir, 'slapd.conf');
    await mkdir(join(dir, 'db'));
    await writeFile(confPath, slapdConf(dir, rootDn, rootPassword, opts));

    const spawnSlapd = () => spawn(slapdBinary, ['-d', '0', '-h', `${url}/`, '-f', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = spawnSlapd();
    await waitUntilServing(child, port, { name: 'slapd' });

    const ldifPath = join(dir, 'init.ldif');
    await writeFile(ldifPath, defaultLdif(servicePassword) + (opts.ldif ? `\n${opts.ldif.trim()}\n` : ''));
    const passwordFile = join(dir, 'rootpw');
    await writeFile(passwordFile, rootPassword, { mode: 0o600 }); // -y: no password on argv
    await runTool(ldapadd, ['-x', '-H', url, '-D', rootDn, '-y', passwordFile, '-f', ldifPath]);

    return {
      url,
      port,
      baseDn: BASE_DN,
      peopleDn: PEOPLE_DN,
      groupsDn: GROUPS_DN,
      rootDn,
      rootPassword,
      serviceDn: `cn=webiso-reader,${BASE_DN}`,
      servicePassword,
      dir,
      ...restartable(child, dir, port, 'slapd', spawnSlapd),
    };
  } catch (err) {
    await abandonStart(child, dir);
    throw err;
  }
}

function slapdConf(dir: string, rootDn: string, rootPassword: string, opts: StartSlapdOptions): string {
  const schemas = ['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include ${SCHEMA_DIR}/${s}.schema`);
  const searchers = opts.anonymousSearch === false ? `by users read\n  by * none` : 'by * read';
  return `${schemas.join('\n')}
modulepath ${MODULE_DIR}
moduleload back_mdb
pidfile ${join(dir, 'slapd.pid')}
argsfile ${join(dir, 'slapd.args')}
${opts.allowAnonBindDn ? 'allow bind_anon_dn\n' : ''}
database mdb
maxsize 16777216
suffix "${BASE_DN}"
rootdn "${rootDn}"
rootpw ${ssha(rootPassword)}
directory ${join(dir, 'db')}

access to attrs=userPassword
  by anonymous auth
  by self auth
  by * none
access to *
  ${searchers}
`;
}

function defaultLdif(servicePassword: string): string {
  const person = (uid: string, dn: string, cn: string) => `dn: ${dn}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${cn}
sn: ${cn.split(' ').pop()}
userPassword: ${ssha(LDAP_USERS[uid as keyof typeof LDAP_USERS])}
`;
  return `dn: ${BASE_DN}
objectClass: dcObject
objectClass: organization
dc: test
o: webiso tests

dn: ${PEOPLE_DN}
objectClass: organizationalUnit
ou: people

${person('alice', `uid=alice,${PEOPLE_DN}`, 'Alice Example')}
${person('bob', `uid=bob,${PEOPLE_DN}`, 'Bob Example')}
${person('carol', `uid=carol,${PEOPLE_DN}`, 'Carol Example')}
${person('odd*(user)\\', `cn=Odd User,${PEOPLE_DN}`, 'Odd User')}
dn: cn=webiso-reader,${BASE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: webiso-reader
userPassword: ${ssha(servicePassword)}

dn: ${GROUPS_DN}
objectClass: organizationalUnit
ou: groups

dn: cn=webiso-admins,${GROUPS_DN}
objectClass: groupOfNames
cn: webiso-admins
member: uid=alice,${PEOPLE_DN}

dn: cn=library-staff,${GROUPS_DN}
objectClass: groupOfNames
cn: library-staff
member: uid=bob,${PEOPLE_DN}
`;
}

/** {SSHA} as slappasswd makes it, without spawning slappasswd for every entry. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}
