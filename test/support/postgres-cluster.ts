/**
 * The parts of the PostgreSQL test harness (postgres.ts) that deal with the installation: where
 * the binaries are, the unprivileged user that runs them, and a freshly initialised data dir.
 *
 * initdb takes one to four seconds (more on a busy machine), most of a server's start. Its output
 * is the same for every test (same version, options and setup SQL; passwords are set again after
 * each start), so the first run keeps it as a template in the system temp dir, keyed by all of
 * these, and every later start, in any process, copies it (0.1-0.5 s; 1 MB WAL segments keep it
 * small). The template appears by an atomic rename, so a reader never sees half of one.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chown, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const INSTALL_HINT = 'install the Debian package postgresql';

/** How the cluster's tools and server run: as the data dir's owner, with a clean environment. */
export interface ClusterUser {
  readonly uid: number;
  readonly gid: number;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

const INITDB_OPTIONS = ['-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C', '--wal-segsize=1'];

/** bin/ of the highest PostgreSQL version installed from Debian's packages (not whatever is on PATH). */
export function postgresBinDir(root = '/usr/lib/postgresql'): string {
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, 'bin', 'postgres'))) : [];
  const highest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (highest === undefined) throw new Error(`test harness: no PostgreSQL under ${root} (${INSTALL_HINT})`);
  return join(root, highest, 'bin');
}

/** The `postgres` system user (the package creates it); its ids are looked up, never assumed. */
export function postgresSystemUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(`test harness: no 'postgres' system user (${INSTALL_HINT})`);
  }
}

/** Runs a tool as the cluster's user to completion; rejects with its output when it fails. */
export function runAs(user: ClusterUser, file: string, args: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...user, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {}); // the tool may exit before reading its input
    child.stdin.end(input);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', (err) => reject(new Error(`${file}: ${err.message} (${INSTALL_HINT})`)));
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${file} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

/**
 * Creates dataDir (which must not exist; its parent belongs to user) as a copy of an initdb
 * template on which setupStatements ran (in single-user mode: one statement a line, no TCP port).
 * The superuser's password in it is the template's: set it after the start.
 */
export async function initializeDataDir(bin: string, user: ClusterUser, dataDir: string, setupStatements: readonly string[]): Promise<void> {
  const template = await initdbTemplate(bin, user, setupStatements);
  await runAs(user, '/bin/cp', ['-a', template, dataDir]);
}

async function initdbTemplate(bin: string, user: ClusterUser, setupStatements: readonly string[]): Promise<string> {
  // the server binary's identity stands for its version: a package upgrade replaces the file
  const binary = statSync(join(bin, 'postgres'));
  const recipe = [bin, binary.size, binary.mtimeMs, binary.ino, user.uid, INITDB_OPTIONS.join(' '), ...setupStatements].join('\n');
  const key = createHash('sha256').update(recipe).digest('hex').slice(0, 16);
  const template = join(tmpdir(), `webiso-pg-template-${key}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;

  const staging = await mkdtemp(join(tmpdir(), 'webiso-pg-initdb-'));
  try {
    await chown(staging, user.uid, user.gid);
    const passwordFile = join(staging, 'password');
    // initdb insists on a superuser password for scram-sha-256; each server replaces it.
    await writeFile(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    await chown(passwordFile, user.uid, user.gid);
    const dataDir = join(staging, 'data');
    await runAs({ ...user, cwd: staging }, join(bin, 'initdb'), ['-D', dataDir, ...INITDB_OPTIONS, `--pwfile=${passwordFile}`, '--no-sync', '--no-instructions']);
    if (setupStatements.length > 0) {
      const output = await runAs({ ...user, cwd: staging }, join(bin, 'postgres'), ['--single', '-D', dataDir, '-c', 'fsync=off', 'postgres'], `${setupStatements.join('\n')}\n`);
      // single-user mode reports a failed statement and carries on, exit status 0
      if (/\b(ERROR|FATAL):/.test(output)) throw new Error(`postgres --single: setup failed:\n${output}`);
    }
    try {
      await rename(dataDir, template);
    } catch (err) {
      // another process won the race: its template is as good as ours
      if (!existsSync(join(template, 'PG_VERSION'))) throw err;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return template;
}
