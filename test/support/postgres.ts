/**
 * A throwaway PostgreSQL server on loopback for tests, from Debian's packages (the highest version
 * under /usr/lib/postgresql; stray copies on PATH are ignored).
 *
 * It runs as the unprivileged `postgres` system user: the tests run as root, and initdb and
 * postgres refuse to run as root (a database superuser can write files and run programs as the
 * server's OS user, e.g. COPY ... TO PROGRAM, so that user must not be root).
 * The temp dir, the data dir and the socket dir belong to that user.
 *
 * fsync and full_page_writes are off: they protect committed data against an OS crash or power
 * loss, which a throwaway cluster never has to survive, and they cost most of a test's I/O time.
 * A killed postmaster (kill()) still recovers from its WAL, because the OS keeps the written pages.
 *
 * The data dir is a copy of an initdb template (postgres-cluster.ts). The cluster has a superuser
 * `postgres` (a random password for TCP, trust on the unix socket in the temp dir, which only that
 * user and root can enter) and an application role `webiso` with a random password
 * (scram-sha-256 over TCP), owner of the database `webiso`. URLs never carry the password: it is
 * in `passwordFile` (0600) and `password`.
 * A missing binary or a failing tool throws with its output: the tests must fail loudly, never skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { initializeDataDir, postgresBinDir, postgresSystemUser } from './postgres-cluster.ts';
import { freeTcpPort, makeTempDir, PortRaceError } from './process.ts';

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** a 0600 file holding the webiso role's password, as the server's configuration would name it */
  readonly passwordFile: string;
  readonly password: string;
  /** postgres://webiso@127.0.0.1:PORT/webiso (no password) */
  readonly url: string;
  /** the current postmaster's PID (from postmaster.pid); changes with resume() */
  readonly pid: number;
  readonly dir: string;
  /** the server's stderr (its log), appended across restarts */
  readonly logFile: string;
  /** the URL of another database on this server (no password) */
  urlFor(database: string): string;
  /** superuser connection settings (unix socket, trust): for setup and fault injection only */
  adminConfig(database?: string): pg.ClientConfig;
  /** a fresh empty database owned by webiso, for one test: returns its name */
  createDatabase(prefix?: string): Promise<string>;
  /** fast shutdown, then the temp dir is removed; safe to call twice, or after pause() or kill() */
  stop(): Promise<void>;
  /** fast shutdown keeping the data dir (fault tests: "PostgreSQL stopped during load") */
  pause(): Promise<void>;
  /** starts again on the same port with the same data; resolves once it accepts connections */
  resume(): Promise<void>;
  /** SIGKILL the postmaster, as a crash would (data kept); resolves once it has exited */
  kill(): Promise<void>;
}

const HOST = '127.0.0.1';
const APP_ROLE = 'webiso';
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 10_000;

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const owner = postgresSystemUser();
  const dir = await makeTempDir('webiso-pg-');
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  const logFile = join(dir, 'postgres.log');
  const superuserPassword = randomBytes(18).toString('base64url');
  const password = randomBytes(18).toString('base64url');
  const passwordFile = join(dir, 'webiso.password');
  let child: ChildProcess | undefined;
  const killOnExit = () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  try {
    await mkdir(socketDir, { mode: 0o700 });
    for (const path of [dir, socketDir]) await chown(path, owner.uid, owner.gid);
    await writeFile(passwordFile, password, { mode: 0o600 });
    // The server and its tools: as that user, in its own dir, with a clean locale and time zone.
    const asOwner = { ...owner, cwd: dir, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' } };
    await initializeDataDir(bin, asOwner, dataDir, [`CREATE ROLE ${APP_ROLE} LOGIN CREATEDB`, `CREATE DATABASE ${APP_ROLE} OWNER ${APP_ROLE}`]);

    let port = 0;
    const launch = async (chosenPort: number) => {
      const args = ['-D', dataDir, '-k', socketDir, '-c', `listen_addresses=${HOST}`, '-c', `port=${chosenPort}`,
        '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', 'shared_buffers=128MB'];
      const logStart = await stat(logFile).then((s) => s.size, () => 0);
      const readLog = async () => (await readFile(logFile)).subarray(logStart).toString('utf8');
      const log = openSync(logFile, 'a');
      try {
        child = spawn(join(bin, 'postgres'), args, { ...asOwner, stdio: ['ignore', log, log] });
      } finally {
        closeSync(log); // the child has its own copy
      }
      await waitUntilReady(child, dataDir, chosenPort, readLog);
    };
    for (let attempt = 1; ; attempt++) {
      port = await freeTcpPort();
      try {
        await launch(port);
        break;
      } catch (err) {
        if (!(err instanceof PortRaceError) || attempt === START_ATTEMPTS) throw err;
      }
    }

    const adminConfig = (database = 'postgres'): pg.ClientConfig => ({ host: socketDir, port, user: 'postgres', database });
    await withClient(adminConfig(), async (client) => {
      await client.query(`ALTER ROLE postgres PASSWORD ${client.escapeLiteral(superuserPassword)}`);
      await client.query(`ALTER ROLE ${APP_ROLE} PASSWORD ${client.escapeLiteral(password)}`);
    });

    let pid = await postmasterPid(dataDir);
    let stopped: Promise<void> | undefined;
    const urlFor = (database: string) => `postgres://${APP_ROLE}@${HOST}:${port}/${encodeURIComponent(database)}`;
    const shutDown = async () => {
      if (child) await signalAndWait(child, 'SIGINT'); // SIGINT is a fast shutdown, as `pg_ctl stop -m fast`
    };
    return {
      host: HOST,
      port,
      database: APP_ROLE,
      user: APP_ROLE,
      passwordFile,
      password,
      url: urlFor(APP_ROLE),
      get pid() {
        return pid;
      },
      dir,
      logFile,
      urlFor,
      adminConfig,
      async createDatabase(prefix = 'test') {
        if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new Error(`createDatabase: bad prefix '${prefix}'`);
        const name = `${prefix}_${randomBytes(6).toString('hex')}`;
        await withClient(adminConfig(), (client) => client.query(`CREATE DATABASE ${name} OWNER ${APP_ROLE} STRATEGY file_copy`));
        return name;
      },
      stop() {
        return (stopped ??= (async () => {
          await shutDown();
          process.removeListener('exit', killOnExit);
          await rm(dir, { recursive: true, force: true });
        })());
      },
      pause: shutDown,
      async resume() {
        if (child && child.exitCode === null && child.signalCode === null) throw new Error('resume: the server is running');
        // After kill(), the old backends notice their postmaster's death within moments; until then
        // the new postmaster refuses to start ("shared memory block is still in use"): try again.
        const deadline = Date.now() + READY_TIMEOUT_MS;
        for (;;) {
          try {
            await launch(port);
            break;
          } catch (err) {
            if (!/still in use/.test(String(err)) || Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        pid = await postmasterPid(dataDir);
      },
      async kill() {
        if (child) await signalAndWait(child, 'SIGKILL');
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function withClient<T>(config: pg.ClientConfig, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** The first line of postmaster.pid; written by the postmaster itself, so it is the server's PID. */
async function postmasterPid(dataDir: string): Promise<number> {
  const lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`postmaster.pid: bad PID line '${lines[0]}'`);
  return pid;
}

async function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

/**
 * Polls until the postmaster has written "ready" into postmaster.pid (as `pg_ctl -w` does: before
 * that, connections are refused with "the database system is starting up") and answers on TCP.
 * Throws with the log if it exits first, a PortRaceError when its port was taken.
 */
async function waitUntilReady(child: ChildProcess, dataDir: string, port: number, readLog: () => Promise<string>): Promise<void> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = String(code ?? signal)));
  child.once('error', (err) => (exited = err.message));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const message = `postgres exited (${exited}):\n${await readLog()}`;
      throw /could not bind/.test(message) ? new PortRaceError(message) : new Error(message);
    }
    const lines = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').then((t) => t.split('\n'), () => []);
    if (Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready' && (await tcpAccepts(port))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`postgres was not ready on port ${port} within ${READY_TIMEOUT_MS} ms:\n${await readLog()}`);
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
