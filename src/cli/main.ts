#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { WebisoConfig } from '../config/schema.ts';
import { openAndMigrate, type Db } from '../db/database.ts';
import { foldUsername, isValidLocalUsername, createUsersRepository } from '../db/users.ts';
import { createKeysRepository } from '../keys/keys-repository.ts';
import { createKeystore, type SigningAlgorithm } from '../keys/keystore.ts';
import { hashPassword } from '../verifiers/password-hash.ts';
import { registerMachineCommands } from './machine-commands.ts';
import { readNewPassword } from './read-password.ts';
import { serve } from './serve.ts';

/** A user-facing CLI error: printed without a stack trace, exit status 1. */
export class CliError extends Error {}

const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;

function withDb<T>(fn: (db: Db, config: WebisoConfig) => T | Promise<T>): Promise<T> {
  const { config } = loadConfig();
  const db = openAndMigrate(config.dataDir);
  return Promise.resolve(fn(db, config)).finally(() => db.close());
}

function checkUsername(name: string): string {
  const folded = foldUsername(name);
  if (!isValidLocalUsername(folded)) throw new CliError(`invalid username "${name}": use 1-64 characters a-z, 0-9, ".", "_", "@", "-", starting with a letter or digit`);
  return folded;
}

function checkRoles(roles: string[]): string[] {
  for (const role of roles) if (!ROLE.test(role)) throw new CliError(`invalid role "${role}": use a-z, 0-9, "_", "-", starting with a letter`);
  return roles;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function buildCli(): Command {
  const program = new Command('webiso').description('webiso: a Pubcookie-style web login server').exitOverride();

  program
    .command('serve')
    .description('apply migrations, create keys if needed and start the login server')
    .option('--demo', 'also start the demo relying app (port WEBISO_DEMO_PORT, default 8081)')
    .action(async (options: { demo?: boolean }) => serve({ demo: options.demo === true }));

  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(async () => {
      const { config } = loadConfig();
      openAndMigrate(config.dataDir).close();
      console.log(`database ${config.dataDir}/webiso.db is up to date`);
    });

  const user = program.command('user').description('local accounts');
  user
    .command('add <name>')
    .description('add a local account; the password is read from standard input or a prompt')
    .option('--role <role>', 'give the account a role (repeatable), e.g. admin', collect, [])
    .action(async (name: string, options: { role: string[] }) =>
      withDb(async (db) => {
        const username = checkUsername(name);
        const roles = checkRoles(options.role);
        const users = createUsersRepository(db);
        if (users.find(username)) throw new CliError(`user "${username}" already exists`);
        users.add(username, await hashPassword(await readNewPassword()), roles, new Date());
        console.log(`added user ${username}${roles.length ? ` with roles ${roles.join(', ')}` : ''}`);
      }),
    );
  user
    .command('passwd <name>')
    .description("set an account's password, read from standard input or a prompt")
    .action(async (name: string) =>
      withDb(async (db) => {
        const username = checkUsername(name);
        const users = createUsersRepository(db);
        if (!users.find(username)) throw new CliError(`no such user "${username}"`);
        users.setPasswordHash(username, await hashPassword(await readNewPassword()), new Date());
        console.log(`password changed for ${username}`);
      }),
    );
  for (const [command, disabled] of [['disable', true], ['enable', false]] as const) {
    user
      .command(`${command} <name>`)
      .description(`${command} an account`)
      .action(async (name: string) =>
        withDb((db) => {
          const username = checkUsername(name);
          if (!createUsersRepository(db).setDisabled(username, disabled, new Date())) throw new CliError(`no such user "${username}"`);
          console.log(`${command}d user ${username}`);
        }),
      );
  }
  user
    .command('list')
    .description('list local accounts')
    .action(async () =>
      withDb((db) => {
        const rows = createUsersRepository(db).list();
        if (rows.length === 0) console.log('no users yet: add one with `webiso user add NAME --role admin`');
        for (const row of rows) console.log(`${row.username}\t${row.disabled ? 'disabled' : 'active'}\t${row.roles.join(',') || '-'}\t${row.createdAt}`);
      }),
    );
  user
    .command('role <name>')
    .description('add or remove roles on an account')
    .option('--add <role>', 'role to add (repeatable)', collect, [])
    .option('--remove <role>', 'role to remove (repeatable)', collect, [])
    .action(async (name: string, options: { add: string[]; remove: string[] }) =>
      withDb((db) => {
        const username = checkUsername(name);
        const users = createUsersRepository(db);
        if (!users.find(username)) throw new CliError(`no such user "${username}"`);
        if (options.add.length === 0 && options.remove.length === 0) throw new CliError('say --add ROLE or --remove ROLE');
        checkRoles([...options.add, ...options.remove]);
        db.transaction(() => {
          for (const role of options.add) users.grantRole(username, role);
          for (const role of options.remove) users.revokeRole(username, role);
        })();
        console.log(`${username}: ${users.rolesOf(username).join(', ') || 'no roles'}`);
      }),
    );

  const keys = program.command('keys').description('signing keys');
  keys
    .command('rotate')
    .description('add a new grant signing key; the old public key stays published until its grants have expired')
    .option('--alg <alg>', 'EdDSA or ES256 (default: grant.algorithm from the config)')
    .action(async (options: { alg?: string }) =>
      withDb(async (db, config) => {
        const alg = (options.alg ?? config.grant.algorithm) as SigningAlgorithm;
        if (alg !== 'EdDSA' && alg !== 'ES256') throw new CliError(`invalid --alg "${options.alg}": use EdDSA or ES256`);
        const keystore = createKeystore({ repository: createKeysRepository(db), now: Date.now, retiredKeyGraceSeconds: config.grant.lifetimeSeconds + 300 });
        console.log(`new grant signing key ${await keystore.rotate('grant', alg)} (${alg}) is now active`);
      }),
    );
  keys
    .command('list')
    .description('list signing keys and whether they are published')
    .action(async () =>
      withDb((db) => {
        const now = Math.floor(Date.now() / 1000);
        const rows = createKeysRepository(db).all();
        if (rows.length === 0) console.log('no keys yet: they are created on first start');
        for (const key of rows) {
          const state = key.retiredAt === null ? 'active' : key.publishUntil !== null && key.publishUntil > now ? `retired, published until ${new Date(key.publishUntil * 1000).toISOString()}` : 'retired';
          console.log(`${key.kid}\t${key.purpose}\t${key.alg}\t${new Date(key.createdAt * 1000).toISOString()}\t${state}`);
        }
      }),
    );
  registerMachineCommands(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`webiso: ${message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const code = await runCli(process.argv.slice(2));
  // serve keeps running; every other command ends here with its status
  if (code !== 0 || !process.argv.slice(2).includes('serve')) process.exitCode = code;
}
