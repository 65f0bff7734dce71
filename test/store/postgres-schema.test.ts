/**
 * migrations/postgres (001_initial.sql and what follows) against migrations/sqlite, on a real PostgreSQL
 * (test/support/postgres.ts) and a real SQLite file: the same tables, columns, nullability,
 * defaults, keys, indexes and CHECKs, the same answers to the same statements, and the harness's
 * own promises (no password in URLs, pause/resume, kill, stop).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { postgresShape, sqliteShape, type ColumnShape } from '../support/schema-shape.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** Each engine's migrations, in order: the schemas after all of them must match. */
const migrations = (engine: 'sqlite' | 'postgres') => {
  const dir = join(ROOT, 'migrations', engine);
  return readdirSync(dir).filter((n) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(n)).sort().map((n) => readFileSync(join(dir, n), 'utf8'));
};

function migratedSqlite(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('foreign_keys = ON'); // as src/db/database.ts opens it
  for (const sql of migrations('sqlite')) db.exec(sql);
  return db;
}

async function migratePostgres(client: pg.Client): Promise<void> {
  for (const sql of migrations('postgres')) await client.query(sql); // several statements: the simple protocol
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The PostgreSQL type a SQLite column must have: flags (CHECK col IN (0, 1)) are SMALLINT. */
function expectedPostgresType(column: ColumnShape, tableSql: string): string {
  if (column.type === 'TEXT') return 'text';
  if (column.type === 'BLOB') return 'bytea';
  if (column.type === 'INTEGER') return tableSql.includes(`CHECK (${column.name} IN (0, 1))`) ? 'smallint' : 'bigint';
  throw new Error(`unmapped SQLite type ${column.type}`);
}

describe('PostgreSQL schema and harness', () => {
  let server: PostgresServer;
  let database: string;
  let startupMs: number;
  let sqliteDir: string;
  let sqlite: Database.Database;
  const connect = async (name = database) => {
    const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: name });
    await client.connect();
    return client;
  };
  const withPostgres = async <T>(use: (client: pg.Client) => Promise<T>, name = database): Promise<T> => {
    const client = await connect(name);
    try {
      return await use(client);
    } finally {
      await client.end();
    }
  };

  before(async () => {
    const started = performance.now();
    server = await startPostgres();
    startupMs = performance.now() - started;
    database = await server.createDatabase('schema');
    // applied by the application role over TCP, as the store's migration runner will be
    await withPostgres(migratePostgres);
    sqliteDir = mkdtempSync(join(tmpdir(), 'webiso-schema-'));
    sqlite = migratedSqlite(join(sqliteDir, 'webiso.db'));
  });
  after(async () => {
    sqlite?.close();
    if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
    await server?.stop();
  });

  test('the harness starts quickly, as the postgres user, and hands out URLs without the password', async (t) => {
    t.diagnostic(`startup ${Math.round(startupMs)} ms`);
    assert.match(server.url, new RegExp(`^postgres://webiso@127\\.0\\.0\\.1:${server.port}/webiso$`));
    assert.ok(!server.url.includes(server.password) && !server.urlFor(database).includes(server.password));
    assert.equal(readFileSync(server.passwordFile, 'utf8'), server.password);
    assert.equal(statSync(server.passwordFile).mode & 0o777, 0o600);
    const owner = await withPostgres((c) => c.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()'));
    assert.equal(owner.rows[0]?.owner, 'webiso');
    assert.equal(statSync(server.dir).uid, statSync(join(server.dir, 'data')).uid);
    assert.notEqual(statSync(join(server.dir, 'data')).uid, 0, 'the data dir must not belong to root');
    // scram-sha-256 over TCP: a wrong password is refused
    const intruder = new pg.Client({ host: server.host, port: server.port, user: 'webiso', password: 'wrong', database });
    await assert.rejects(intruder.connect(), /password authentication failed/);
  });

  test('the same tables, columns, nullability, types, defaults, keys, indexes, CHECKs and foreign keys', async () => {
    const expected = sqliteShape(sqlite);
    const actual = await withPostgres(postgresShape);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
    const tableSql = (name: string) => sqlite.prepare<[string], string>("SELECT sql FROM sqlite_master WHERE name = ?").pluck().get(name) ?? '';
    for (const [table, shape] of Object.entries(expected)) {
      const columns = shape.columns.map((c) => ({ ...c, type: expectedPostgresType(c, tableSql(table)) }));
      assert.deepEqual(actual[table], { ...shape, columns }, `table ${table}`);
    }
  });

  test('every text column compares bytewise (COLLATE "C"), as SQLite does, and identities are BY DEFAULT', async () => {
    const columns = await withPostgres((c) =>
      c.query<{ table_name: string; column_name: string; data_type: string; collation_name: string | null; identity_generation: string | null }>(
        'SELECT table_name, column_name, data_type, collation_name, identity_generation FROM information_schema.columns WHERE table_schema = current_schema()',
      ),
    );
    const text = columns.rows.filter((c) => c.data_type === 'text');
    assert.ok(text.length > 100);
    const notBytewise = text.filter((c) => c.collation_name !== 'C').map((c) => `${c.table_name}.${c.column_name}`);
    assert.deepEqual(notBytewise, [], 'text columns need COLLATE "C" to compare as SQLite does');
    const identities = columns.rows.filter((c) => c.identity_generation !== null).map((c) => `${c.table_name}.${c.column_name}:${c.identity_generation}`);
    const rowidTables = Object.entries(sqliteShape(sqlite)).filter(([, s]) => s.primaryKey.length === 1 && s.columns.find((c) => c.name === s.primaryKey[0])?.type === 'INTEGER');
    assert.deepEqual(identities.sort(), rowidTables.map(([table, s]) => `${table}.${s.primaryKey[0]}:BY DEFAULT`).sort());
  });

  test('both engines accept and refuse the same statements', async () => {
    const machine = (fqdn: string, version = 0, status = 'active') => ({
      sql: 'INSERT INTO machines (fqdn, version, set_by, set_at, status, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      params: [fqdn, version, 'admin', 1, status, 'admin', 1],
    });
    const enrollment = (code: string, fqdn: string) => ({
      sql: 'INSERT INTO machine_enrollments (code_hash, fqdn, lifetime_days, created_by, created_at, expires_at) VALUES (?, ?, 30, ?, 1, 2)',
      params: [code, fqdn, 'admin'],
    });
    const participant = (app: string, ticket: string | null) => ({
      sql: "INSERT INTO session_participants (sid, app_id, protocol, subject, kind, cas_ticket, at) VALUES ('s1', ?, 'cas', 'alice', 'user', ?, 1)",
      params: [app, ticket],
    });
    const session = (id: string, sid: string | null) => ({
      sql: "INSERT INTO sessions (id_hash, username, roles, amr, verifier, auth_time, created_at, last_seen_at, idle_seconds, absolute_expires_at, sid) VALUES (?, 'alice', '[]', '[]', 'local', 1, 1, 1, 60, 99, ?)",
      params: [id, sid],
    });
    const cases: Array<[string, { sql: string; params: unknown[] }, boolean]> = [
      ['a machine', machine('kiosk-1.example.org'), true],
      ['a status outside the CHECK', machine('kiosk-2.example.org', 0, 'bogus'), false],
      ['the highest version', machine('kiosk-3.example.org', 4294967295), true],
      ['a version past 2^32-1', machine('kiosk-4.example.org', 4294967296), false],
      ['an upper-case name', machine('Kiosk-5.example.org'), false],
      ['a non-ASCII name (lower() folds ASCII only)', machine('É.example.org'), true],
      ['an empty name', machine(''), false],
      ['a repeated name', machine('kiosk-1.example.org'), false],
      ['an enrollment for a known machine', enrollment('code-1', 'kiosk-1.example.org'), true],
      ['a second open enrollment', enrollment('code-2', 'kiosk-1.example.org'), false],
      ['an enrollment for an unknown machine', enrollment('code-3', 'nowhere.example.org'), false],
      ['closing the open enrollment', { sql: "UPDATE machine_enrollments SET used_at = 5 WHERE code_hash = 'code-1'", params: [] }, true],
      ['a new open enrollment after it', enrollment('code-4', 'kiosk-1.example.org'), true],
      ['a participant without ticket', participant('app', null), true],
      ['the same participant again (coalesce index)', participant('app', null), false],
      ['the same participant with a ticket', participant('app', 'ST-1'), true],
      ['two sessions without sid', session('h1', null), true],
      ['... the second one', session('h2', null), true],
      ['a session with a sid', session('h3', 'sid-1'), true],
      ['a repeated sid', session('h4', 'sid-1'), false],
      ['a flag outside 0/1', { sql: "INSERT INTO machine_sighting_hours VALUES ('n', 0, 2, 'ip', 'accepted', 'net', 1, 0, 0)", params: [] }, false],
      ['a sighting hour', { sql: "INSERT INTO machine_sighting_hours VALUES ('n', 0, 1, 'ip', 'accepted', 'net', 1, 0, 0)", params: [] }, true],
    ];
    await withPostgres(async (client) => {
      for (const [name, { sql, params }, accepted] of cases) {
        let n = 0;
        const onPostgres = await client.query(sql.replace(/\?/g, () => `$${++n}`), params).then(() => true, () => false);
        const onSqlite = (() => {
          try {
            sqlite.prepare(sql).run(...params);
            return true;
          } catch {
            return false;
          }
        })();
        assert.deepEqual({ name, onPostgres, onSqlite }, { name, onPostgres: accepted, onSqlite: accepted });
      }
    });
  });

  test('machine_events is append-only: UPDATE, DELETE and TRUNCATE are refused', async () => {
    await withPostgres(async (client) => {
      await client.query("INSERT INTO machine_events (fqdn, action, actor, at) VALUES ('*', 'invalidate', 'cli:root', 1)");
      for (const sql of ["UPDATE machine_events SET actor = 'someone else'", 'DELETE FROM machine_events', 'TRUNCATE machine_events']) {
        await assert.rejects(client.query(sql), { message: 'machine_events is append-only' }, sql);
      }
      const rows = await client.query('SELECT actor FROM machine_events');
      assert.deepEqual(rows.rows, [{ actor: 'cli:root' }]);
    });
    sqlite.prepare("INSERT INTO machine_events (fqdn, action, actor, at) VALUES ('*', 'invalidate', 'cli:root', 1)").run();
    for (const sql of ["UPDATE machine_events SET actor = 'someone else'", 'DELETE FROM machine_events']) {
      assert.throws(() => sqlite.prepare(sql).run(), { message: 'machine_events is append-only' }, sql);
    }
  });

  test('identity columns assign ids when omitted and accept explicit ones', async () => {
    await withPostgres(async (client) => {
      const insert = (id?: number) =>
        client.query<{ id: string }>(
          `INSERT INTO login_failures (${id === undefined ? '' : 'id, '}scope, key, at) VALUES (${id === undefined ? '' : `${id}, `}'ip', '192.0.2.1', 1) RETURNING id`,
        );
      assert.equal((await insert()).rows[0]?.id, '1'); // BIGINT comes back as a string from pg unless parsed
      assert.equal((await insert(5000000000)).rows[0]?.id, '5000000000');
      assert.equal((await insert()).rows[0]?.id, '2'); // the sequence is the copy tool's to reset
      await client.query("SELECT setval(pg_get_serial_sequence('login_failures', 'id'), (SELECT max(id) FROM login_failures))");
      assert.equal((await insert()).rows[0]?.id, '5000000001');
    });
  });

  test('text sorts bytewise even in a database whose default collation is not C', async () => {
    const icu = `icu_${process.pid}`;
    const admin = new pg.Client(server.adminConfig());
    await admin.connect();
    await admin.query(`CREATE DATABASE ${icu} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C' OWNER webiso`).finally(() => admin.end());
    const names = ['b', 'B', 'a', 'A', 'É'];
    const ordered = await withPostgres(async (client) => {
      await migratePostgres(client);
      for (const name of names) await client.query("INSERT INTO users VALUES ($1, 'x', 0, 'now', 'now')", [name]);
      const byDefault = await client.query<{ x: string }>('SELECT x FROM unnest($1::text[]) AS x ORDER BY x', [names]);
      assert.deepEqual(byDefault.rows.map((r) => r.x), ['a', 'A', 'b', 'B', 'É'], 'the database really sorts by ICU rules');
      await client.query("INSERT INTO machines (fqdn, set_by, set_at, created_by, created_at) VALUES ('É.example.org', 'a', 1, 'a', 1)");
      return (await client.query<{ username: string }>('SELECT username FROM users ORDER BY username')).rows.map((r) => r.username);
    }, icu);
    const inSqlite = sqlite.prepare<[], string>('SELECT column1 FROM (VALUES (\'b\'), (\'B\'), (\'a\'), (\'A\'), (\'É\')) ORDER BY column1').pluck().all();
    assert.deepEqual(ordered, inSqlite);
    assert.deepEqual(ordered, ['A', 'B', 'a', 'b', 'É']);
  });

  test('pause() refuses connections; resume() serves the same data on the same port', async () => {
    await withPostgres((c) => c.query("INSERT INTO machine_settings VALUES ('invalidate_before', '100', 'cli:root', 1)"));
    const { port, pid } = server;
    await server.pause();
    assert.equal(isAlive(pid), false);
    await assert.rejects(connect(), { code: 'ECONNREFUSED' });
    await server.resume();
    assert.equal(server.port, port);
    assert.notEqual(server.pid, pid);
    const rows = await withPostgres((c) => c.query('SELECT value FROM machine_settings'));
    assert.deepEqual(rows.rows, [{ value: '100' }]);
  });

  test('kill() SIGKILLs the postmaster; after resume() committed rows are there', async () => {
    await withPostgres((c) => c.query("INSERT INTO machine_settings VALUES ('after_kill', 'kept', 'cli:root', 2)"));
    const { pid } = server;
    await server.kill();
    assert.equal(isAlive(pid), false);
    await assert.rejects(connect());
    await server.resume();
    const rows = await withPostgres((c) => c.query("SELECT value FROM machine_settings WHERE name = 'after_kill'"));
    assert.deepEqual(rows.rows, [{ value: 'kept' }]);
  });

  test('stop() ends the postmaster and removes the temp dir', async () => {
    const { pid, dir } = server;
    assert.ok(isAlive(pid) && existsSync(dir));
    await server.stop();
    assert.equal(isAlive(pid), false);
    assert.equal(existsSync(dir), false);
    await assert.rejects(connect());
  });
});
