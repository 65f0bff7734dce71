#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.ts';
import type { WebisoConfig } from '../config/schema.ts';
import { PACKAGE_ROOT } from '../ops/package-root.ts';
import { openStore } from '../store/store.ts';
import { registerConfigCommands } from './config-commands.ts';
import { cliMessage } from './errors.ts';
import { registerKeyCommands } from './key-commands.ts';
import { registerMachineCommands } from './machine-commands.ts';
import { print } from './output.ts';
import { serve } from './serve.ts';
import { registerStoreCommands } from './store-commands.ts';
import { registerUserCommands } from './user-commands.ts';

const PACKAGE = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

/** Usage errors from commander read like every other error: `webiso: unknown option '--x'`. */
function usageErrorLine(text: string): string {
  return `webiso: ${text.trim().replace(/^error: /, '')}`;
}

/**
 * The program's settings, inherited by every subcommand added after them: output goes through
 * console (like every command's own output), errors (usage errors included) carry the `webiso:`
 * prefix, and nothing calls process.exit.
 */
function configureProgram(program: Command): Command {
  return program
    .version(`webiso ${PACKAGE.version}`, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .configureOutput({
      writeOut: (text) => console.log(text.replace(/\n$/, '')),
      writeErr: (text) => console.error(text.replace(/\n$/, '')),
      outputError: (text) => console.error(usageErrorLine(text)),
    })
    .showSuggestionAfterError()
    .exitOverride();
}

/** The configured store as the person knows it, without a password. */
function storeName({ store, dataDir }: WebisoConfig): string {
  if (store.kind === 'sqlite') return `database ${store.path ?? join(dataDir, 'webiso.db')}`;
  const where = store.url ? new URL(store.url) : undefined;
  const server = where ? `${where.host}${where.pathname}` : `${store.host}${store.port ? `:${store.port}` : ''}/${store.database ?? ''}`;
  return `PostgreSQL database ${server} (schema ${store.schema})`;
}

export function buildCli(): Command {
  const program = configureProgram(new Command('webiso').description('webiso: a Pubcookie-style web login server'));
  program
    .command('serve')
    .description('apply migrations, create keys if needed and start the login server')
    .option('--demo', 'also start the demo relying app (on WEBISO_DEMO_PORT)')
    .option('--workers <n>', 'server processes on the one port (default: WEBISO_WORKERS, else the number of CPUs; 1 = no cluster)')
    .action(async (options: { demo?: boolean; workers?: string }) => serve({ demo: options.demo === true, workers: options.workers }));
  program
    .command('migrate')
    .description('apply pending database migrations (SQLite or PostgreSQL, as configured)')
    .action(async () => {
      const { config } = loadConfig();
      await (await openStore(config)).close();
      print(`${storeName(config)} is up to date`);
    });
  registerUserCommands(program);
  registerKeyCommands(program);
  registerMachineCommands(program);
  registerConfigCommands(program);
  registerStoreCommands(program);
  return program;
}

/** Runs one command; returns the exit status: 0, 1 (the command failed) or 2 (bad usage). */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    // commander has printed its message already (help, version, usage errors)
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    console.error(`webiso: ${cliMessage(error)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const code = await runCli(process.argv.slice(2));
  // serve keeps running; every other command ends here with its status
  if (code !== 0 || !process.argv.slice(2).includes('serve')) process.exitCode = code;
}
