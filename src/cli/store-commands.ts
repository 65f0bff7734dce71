import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { storeSchema } from '../store/config-schema.ts';
import { COPIED_TABLES, copyStore } from '../store/copy.ts';
import { openSqliteStore, openStore } from '../store/store.ts';
import { CliError } from './errors.ts';
import { print, printTable } from './output.ts';

interface CopyOptions {
  readonly from: string;
  readonly to: string;
  readonly passwordFile?: string;
  readonly schema?: string;
}

function sqlitePath(value: string): string {
  const match = /^sqlite:(.+)$/.exec(value);
  if (!match) throw new CliError(`invalid --from "${value}": use sqlite:PATH (the webiso.db file)`);
  if (!existsSync(match[1]!)) throw new CliError(`invalid --from "${value}": there is no file ${match[1]}`);
  return match[1]!;
}

/** `postgres:URL` → the store section a config file would hold (validated by the same schema). */
function postgresStore(value: string, options: CopyOptions) {
  const url = value.replace(/^postgres:(?=postgres(ql)?:\/\/)/, '');
  const parsed = storeSchema.safeParse({ kind: 'postgres', url, passwordFile: options.passwordFile, schema: options.schema });
  if (!/^postgres(ql)?:\/\//.test(url) || !parsed.success) {
    throw new CliError(`invalid --to "${value}": use postgres:postgres://USER@HOST:PORT/DATABASE without a password (give it with --password-file)`);
  }
  return parsed.data;
}

/** `webiso store …`: moving an installation between engines. */
export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('the database behind webiso (SQLite or PostgreSQL)');
  store
    .command('copy')
    .description('copy a (running) SQLite installation into an empty PostgreSQL database: accounts, roles, machines and their history, keys, alerts, audit; sessions are left behind')
    .requiredOption('--from <source>', 'sqlite:PATH of the webiso.db file')
    .requiredOption('--to <target>', 'postgres:postgres://USER@HOST:PORT/DATABASE (no password in the URL)')
    .option('--password-file <file>', 'file holding the PostgreSQL password')
    .option('--schema <name>', 'PostgreSQL schema for webiso\'s tables (default public)')
    .action(async (options: CopyOptions) => {
      const path = sqlitePath(options.from);
      const targetConfig = postgresStore(options.to, options);
      const source = openSqliteStore(path);
      try {
        const target = await openStore({ store: targetConfig, dataDir: '.' });
        try {
          const report = await copyStore(source, target);
          printTable(['TABLE', 'ROWS'], COPIED_TABLES.map((table) => [table, String(report.rows[table])]));
          print(`copied ${path} into PostgreSQL; point store: in the config at it and restart webiso (sessions were not copied: people log in again)`);
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
      }
    });
}
