import type { Statement } from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type { Db } from '../db/database.ts';

/** Distinct SQL texts kept prepared; Kysely produces one text per query shape, so this is plenty. */
const STATEMENT_CACHE_SIZE = 512;

/**
 * One better-sqlite3 connection used by one query or transaction at a time. Unlike Kysely's own
 * SqliteDriver it keeps statements prepared (preparing costs more than running a point query) and
 * begins transactions IMMEDIATE: other processes (workers, the CLI) write the same file, and a
 * deferred transaction that read first cannot wait for the write lock (see src/db/database.ts).
 */
class SqliteConnection implements DatabaseConnection {
  readonly #statements = new Map<string, Statement>();

  constructor(readonly db: Db) {}

  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.delete(this.#statements.keys().next().value as string);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.#prepare(compiled.sql);
    const parameters = compiled.parameters as unknown[];
    if (statement.reader) return Promise.resolve({ rows: statement.all(...parameters) as R[] });
    const { changes, lastInsertRowid } = statement.run(...parameters);
    return Promise.resolve({ rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) });
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('webiso does not stream queries');
  }
}

/** A FIFO lock: a transaction keeps the single connection until it ends. */
class ConnectionLock {
  #tail: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  async acquire(): Promise<void> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.#release = release;
  }

  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}

class SqliteDriver implements Driver {
  readonly #connection: SqliteConnection;
  readonly #lock = new ConnectionLock();

  constructor(db: Db) {
    this.#connection = new SqliteConnection(db);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#lock.acquire();
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('BEGIN IMMEDIATE'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('COMMIT'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // a failed COMMIT (SQLITE_BUSY, disk full) may already have ended the transaction
    if ((connection as SqliteConnection).db.inTransaction) await connection.executeQuery(CompiledQuery.raw('ROLLBACK'));
  }

  async releaseConnection(): Promise<void> {
    this.#lock.release();
  }

  async destroy(): Promise<void> {
    this.#connection.db.close();
  }
}

export class WebisoSqliteDialect implements Dialect {
  constructor(private readonly db: Db) {}
  createDriver(): Driver {
    return new SqliteDriver(this.db);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createAdapter() {
    return new SqliteAdapter();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}
