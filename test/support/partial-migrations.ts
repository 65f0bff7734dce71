// A database migrated up to a version, then the next migration on top: what an upgrade of an
// installation that already holds rows does (migration tests of SQLite).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, MIGRATIONS_DIR, openDatabase, type Db } from '../../src/db/database.ts';

export interface PartialMigrations {
  /** the database, migrated through every migration before `version` */
  readonly db: Db;
  /** applies migration `version` (and only it); returns the names applied */
  apply(): string[];
}

export function migratedUpTo(dir: string, version: number): PartialMigrations {
  const migrations = join(dir, 'migrations');
  mkdirSync(migrations);
  const copy = (keep: (candidate: number) => boolean) => {
    for (const name of readdirSync(MIGRATIONS_DIR).filter((file) => keep(Number.parseInt(file, 10)))) copyFileSync(join(MIGRATIONS_DIR, name), join(migrations, name));
  };
  copy((candidate) => candidate < version);
  const db = openDatabase(join(dir, 'webiso.db'));
  migrate(db, migrations);
  return {
    db,
    apply() {
      copy((candidate) => candidate === version);
      return migrate(db, migrations);
    },
  };
}
