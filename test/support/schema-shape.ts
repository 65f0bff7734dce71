/**
 * The shape of a database schema, read from SQLite's pragmas or PostgreSQL's catalogs into one
 * form, so a test can compare the two engines' schemas (test/store/postgres-schema.test.ts).
 * Column types stay each engine's own; everything else is comparable as it is.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';

export interface ColumnShape {
  readonly name: string;
  /** SQLite: INTEGER, TEXT, BLOB; PostgreSQL: bigint, smallint, text, bytea */
  readonly type: string;
  readonly notNull: boolean;
  /** the default's SQL, without PostgreSQL's ::type casts; null when there is none */
  readonly default: string | null;
}

export interface IndexShape {
  readonly name: string;
  readonly unique: boolean;
  readonly partial: boolean;
  /** column names in order; null for an expression */
  readonly columns: ReadonlyArray<string | null>;
}

export interface TableShape {
  readonly columns: readonly ColumnShape[];
  readonly primaryKey: readonly string[];
  /** named indexes, by name (not those behind PRIMARY KEY) */
  readonly indexes: readonly IndexShape[];
  readonly checkCount: number;
  /** "column -> table(column)" */
  readonly foreignKeys: readonly string[];
}

export type SchemaShape = Record<string, TableShape>;

/** The tables webiso's migrations create: not the engine's own, nor the runner's schema_migrations. */
const isOwnTable = (name: string) => !name.startsWith('sqlite_') && name !== 'schema_migrations';

export function sqliteShape(db: Database.Database): SchemaShape {
  const tables = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all().filter((t) => isOwnTable(t.name));
  const shape: SchemaShape = {};
  for (const table of tables) {
    const info = db.pragma(`table_info(${table.name})`) as Array<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>;
    const indexList = db.pragma(`index_list(${table.name})`) as Array<{ name: string; unique: number; origin: string; partial: number }>;
    const foreignKeys = db.pragma(`foreign_key_list(${table.name})`) as Array<{ table: string; from: string; to: string }>;
    shape[table.name] = {
      // a PRIMARY KEY column of a STRICT table (and a rowid alias) can never be NULL
      columns: info.map((c) => ({ name: c.name, type: c.type, notNull: c.notnull === 1 || c.pk > 0, default: c.dflt_value })),
      primaryKey: info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
      indexes: indexList
        .filter((i) => i.origin === 'c')
        .map((i) => ({
          name: i.name,
          unique: i.unique === 1,
          partial: i.partial === 1,
          columns: (db.pragma(`index_info(${i.name})`) as Array<{ seqno: number; name: string | null }>).sort((a, b) => a.seqno - b.seqno).map((c) => c.name),
        }))
        .sort(byName),
      checkCount: table.sql.match(/\bCHECK\s*\(/gi)?.length ?? 0,
      foreignKeys: foreignKeys.map((f) => `${f.from} -> ${f.table}(${f.to})`).sort(),
    };
  }
  return shape;
}

export async function postgresShape(client: pg.Client): Promise<SchemaShape> {
  const columns = await client.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const indexes = await client.query<{ table_name: string; name: string; unique: boolean; primary: boolean; partial: boolean; columns: Array<string | null> }>(
    `SELECT t.relname AS table_name, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary, x.indpred IS NOT NULL AS partial,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) AS columns
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.relnamespace = current_schema()::regnamespace`,
  );
  const constraints = await client.query<{ table_name: string; type: string; definition: string }>(
    `SELECT conrelid::regclass::text AS table_name, contype AS type, pg_get_constraintdef(oid) AS definition
       FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND contype IN ('c', 'f')`,
  );
  const shape: SchemaShape = {};
  for (const table of new Set(columns.rows.map((c) => c.table_name).filter(isOwnTable))) {
    const tableIndexes = indexes.rows.filter((i) => i.table_name === table);
    const tableConstraints = constraints.rows.filter((c) => c.table_name === table);
    shape[table] = {
      columns: columns.rows
        .filter((c) => c.table_name === table)
        .map((c) => ({ name: c.column_name, type: c.data_type, notNull: c.is_nullable === 'NO', default: c.column_default?.replace(/::[a-z ]+$/, '') ?? null })),
      primaryKey: tableIndexes.find((i) => i.primary)?.columns.map(String) ?? [],
      indexes: tableIndexes
        .filter((i) => !i.primary)
        .map(({ name, unique, partial, columns }) => ({ name, unique, partial, columns }))
        .sort(byName),
      checkCount: tableConstraints.filter((c) => c.type === 'c').length,
      // "FOREIGN KEY (fqdn) REFERENCES machines(fqdn)"
      foreignKeys: tableConstraints
        .filter((c) => c.type === 'f')
        .map((c) => c.definition.replace(/^FOREIGN KEY \((\w+)\) REFERENCES (\w+)\((\w+)\)$/, '$1 -> $2($3)'))
        .sort(),
    };
  }
  return shape;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
