import type { Command } from 'commander';
import { createUsersRepository, foldUsername, isValidLocalUsername, type UsersRepository } from '../db/users.ts';
import { hashPassword } from '../verifiers/password-hash.ts';
import { endSessionsOfUser } from '../logout/end-sessions.ts';
import { withServices, withStore } from './context.ts';
import { CliError } from './errors.ts';
import { print, printTable, time } from './output.ts';
import { readNewPassword } from './read-password.ts';
import { checkGrantedRoles, checkRemovedRoles } from './roles.ts';

/** Repeatable options start undefined, so `--help` shows no "(default: [])". */
const collect = (value: string, previous: string[] = []) => [...previous, value];

function checkUsername(name: string): string {
  const folded = foldUsername(name);
  if (!isValidLocalUsername(folded)) throw new CliError(`invalid username "${name}": use 1-64 characters a-z, 0-9, ".", "_", "@", "-", starting with a letter or digit`);
  return folded;
}

/** The folded username of an existing account. */
async function existingUser(users: UsersRepository, name: string): Promise<string> {
  const username = checkUsername(name);
  if (!(await users.find(username))) throw new CliError(`no such user "${username}"`);
  return username;
}

function registerAddAndPasswd(user: Command): void {
  user
    .command('add <name>')
    .description('add a local account; the password is read from standard input or a prompt')
    .option('--role <role>', 'give the account a role, e.g. admin (repeatable)', collect)
    .action(async (name: string, options: { role?: string[] }) =>
      withStore(async (store, config) => {
        const username = checkUsername(name);
        const roles = checkGrantedRoles(options.role ?? [], config);
        const users = createUsersRepository(store.db);
        if (await users.find(username)) throw new CliError(`user "${username}" already exists`);
        await users.add(username, await hashPassword(await readNewPassword()), roles, new Date());
        print(`added user ${username}${roles.length ? ` with roles ${roles.join(', ')}` : ''}`);
      }),
    );
  user
    .command('passwd <name>')
    .description("set an account's password, read from standard input or a prompt")
    .action(async (name: string) =>
      withStore(async (store) => {
        const users = createUsersRepository(store.db);
        const username = await existingUser(users, name);
        await users.setPasswordHash(username, await hashPassword(await readNewPassword()), new Date());
        print(`changed the password of user ${username}`);
      }),
    );
}

function registerStateAndList(user: Command): void {
  for (const [command, disabled] of [['disable', true], ['enable', false]] as const) {
    user
      .command(`${command} <name>`)
      .description(disabled ? 'disable an account: it cannot log in until enabled again' : 'enable a disabled account')
      .action(async (name: string) =>
        withServices(async (services, log) => {
          const username = await existingUser(services.users, name);
          await services.users.setDisabled(username, disabled, new Date());
          // a disabled account keeps no session anywhere (single logout of every app it used)
          const ended = disabled ? (await endSessionsOfUser(services, username, 'account_disabled', { log })).sessions : 0;
          print(`${command}d user ${username}${disabled ? `; ended ${ended} session${ended === 1 ? '' : 's'}` : ''}`);
        }),
      );
  }
  user
    .command('logout <name>')
    .description("end every session of an account (local or directory), in webiso and in every app it used")
    .action(async (name: string) =>
      withServices(async (services, log) => {
        const username = checkUsername(name);
        const { sessions, apps } = await endSessionsOfUser(services, username, 'admin', { log });
        const names = [...new Set(apps.map((app) => app.name))];
        print(`ended ${sessions} session${sessions === 1 ? '' : 's'} of user ${username}${names.length ? `; applications told: ${names.join(', ')}` : ''}`);
      }),
    );
  user
    .command('list')
    .description('list local accounts')
    .action(async () =>
      withStore(async (store) => {
        const rows = await createUsersRepository(store.db).list();
        if (rows.length === 0) return print('no users yet: add one with `webiso user add NAME --role admin`');
        printTable(
          ['USERNAME', 'STATE', 'ROLES', 'CREATED'],
          rows.map((row) => [row.username, row.disabled ? 'disabled' : 'active', row.roles.join(','), time(Date.parse(row.createdAt) / 1000)]),
        );
      }),
    );
}

function registerRole(user: Command): void {
  user
    .command('role <name>')
    .description('add or remove roles of an account')
    .option('--add <role>', 'role to add (repeatable)', collect)
    .option('--remove <role>', 'role to remove (repeatable)', collect)
    .action(async (name: string, options: { add?: string[]; remove?: string[] }) =>
      withStore(async (store, config) => {
        const username = await existingUser(createUsersRepository(store.db), name);
        const add = checkGrantedRoles(options.add ?? [], config);
        const remove = checkRemovedRoles(options.remove ?? []);
        if (add.length === 0 && remove.length === 0) throw new CliError('nothing to change: give --add ROLE or --remove ROLE');
        await store.transaction(async (trx) => {
          const users = createUsersRepository(trx);
          for (const role of add) await users.grantRole(username, role);
          for (const role of remove) await users.revokeRole(username, role);
        });
        print(`user ${username} has roles: ${(await createUsersRepository(store.db).rolesOf(username)).join(', ') || 'none'}`);
      }),
    );
}

/** `webiso user …`: local accounts. */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('local accounts');
  registerAddAndPasswd(user);
  registerStateAndList(user);
  registerRole(user);
}
