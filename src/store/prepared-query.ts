import {
  CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Compilable,
  type QueryResult,
} from 'kysely';
import type { StoreConfig } from './config-schema.ts';
import type { Tables } from './tables.ts';

type Engine = StoreConfig['kind'];

/**
 * Queries built and compiled once per engine, bound per call (Kysely's "splitting build, compile
 * and execute" recipe). Building a query is most of Kysely's cost on a point query: a few µs for a
 * select by key, far more for an upsert with CASE expressions, paid on every request of the hot
 * paths (the SSO redirect's session read, a machine presentation's seven statements).
 *
 * Each compiled text is cached per engine; which engine a connection or transaction speaks is
 * recorded when the store creates it (registerEngine, adoptEngine). A Kysely instance nobody
 * registered still works: the query is then built for it on every call, as before.
 */

/** Where a parameter goes: stands in for the value while the query is built, once. */
class Slot {
  constructor(readonly name: string) {}
}

const engines = new WeakMap<Kysely<Tables>, Engine>();

/** Records which engine `db` speaks (the store's connection, or one of its transactions). */
export function registerEngine<D extends Kysely<Tables>>(db: D, engine: Engine): D {
  engines.set(db, engine);
  return db;
}

/** A transaction speaks its parent's engine. */
export function adoptEngine<D extends Kysely<Tables>>(trx: D, parent: Kysely<Tables>): D {
  const engine = engines.get(parent);
  if (engine !== undefined) engines.set(trx, engine);
  return trx;
}

function coldKysely(engine: Engine): Kysely<Tables> {
  // compiles only: DummyDriver never connects
  return engine === 'sqlite'
    ? new Kysely<Tables>({ dialect: { createAdapter: () => new SqliteAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new SqliteIntrospector(db), createQueryCompiler: () => new SqliteQueryCompiler() } })
    : new Kysely<Tables>({ dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() } });
}

const cold: Partial<Record<Engine, Kysely<Tables>>> = {};

/** A compiled text and, per parameter, the named slot to bind or the constant the builder put there. */
interface Template<P> {
  readonly sql: string;
  readonly bind: ReadonlyArray<{ readonly slot: keyof P & string } | { readonly value: unknown }>;
}

export type PreparedQuery<P, R> = (db: Kysely<Tables>, params: P) => Promise<QueryResult<R>>;

/** Marks a parameter of a prepared query; annotate the builder's second argument with it: `(db, param: Param<{ id: string }>) => …`. */
export type Param<P> = <K extends keyof P & string>(name: K) => P[K];

/**
 * `build(db, param)` must be the same query whatever the values: `param('name')` marks where each
 * goes (no branching on values, no `undefined`, which Kysely would drop from an insert).
 */
export function prepareQuery<P extends Record<string, unknown>, R>(build: (db: Kysely<Tables>, param: Param<P>) => Compilable<R>): PreparedQuery<P, R> {
  const templates: Partial<Record<Engine, Template<P>>> = {};
  const template = (engine: Engine): Template<P> => {
    const compiled = build((cold[engine] ??= coldKysely(engine)), (name) => new Slot(name) as never).compile();
    return { sql: compiled.sql, bind: compiled.parameters.map((value) => (value instanceof Slot ? { slot: value.name as keyof P & string } : { value })) };
  };
  return async (db, params) => {
    const engine = engines.get(db);
    if (engine === undefined) return db.executeQuery(build(db, (name) => params[name]));
    const { sql, bind } = (templates[engine] ??= template(engine));
    const values = bind.map((entry) => {
      if (!('slot' in entry)) return entry.value;
      const value = params[entry.slot];
      if (value === undefined) throw new TypeError(`prepared query: no value for ${entry.slot}`);
      return value;
    });
    return (await db.executeQuery(CompiledQuery.raw(sql, values))) as QueryResult<R>;
  };
}
