import type { Queryable } from '../store/store.ts';
import { atomically } from './atomically.ts';

export interface UserRow {
  readonly username: string;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly roles: readonly string[];
  readonly createdAt: string;
}

export interface UserListRow {
  readonly username: string;
  readonly disabled: boolean;
  readonly roles: string[];
  readonly createdAt: string;
}

/** Folds a typed username so "Alice", "ALICE" and "Ａｌｉｃｅ" are one account and one throttle counter. */
export function foldUsername(name: string): string {
  return name.normalize('NFKC').toLowerCase().trim();
}

const LOCAL_USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

export function isValidLocalUsername(folded: string): boolean {
  return LOCAL_USERNAME.test(folded);
}

/** Sorted in code, not SQL: PostgreSQL's collation may order punctuation unlike SQLite's bytes. */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export type UsersRepository = ReturnType<typeof createUsersRepository>;

/** Local accounts and the roles webiso grants (to local, directory and realm users alike). */
export function createUsersRepository(db: Queryable) {
  async function rolesOf(username: string): Promise<string[]> {
    const rows = await db.selectFrom('user_roles').select('role').where('username', '=', username).execute();
    return rows.map((row) => row.role).sort(byCodePoint);
  }

  async function grantRoles(trx: Queryable, username: string, roles: readonly string[]): Promise<void> {
    if (roles.length === 0) return;
    await trx
      .insertInto('user_roles')
      .values([...new Set(roles)].map((role) => ({ username, role })))
      .onConflict((conflict) => conflict.columns(['username', 'role']).doNothing())
      .execute();
  }

  return {
    async find(username: string): Promise<UserRow | undefined> {
      const row = await db.selectFrom('users').select(['username', 'password_hash', 'disabled', 'created_at']).where('username', '=', username).executeTakeFirst();
      if (!row) return undefined;
      return { username: row.username, passwordHash: row.password_hash, disabled: row.disabled === 1, roles: await rolesOf(row.username), createdAt: row.created_at };
    },
    rolesOf,
    /** Every account with its roles, by username (two queries: string aggregation differs by engine). */
    async list(): Promise<UserListRow[]> {
      const users = await db.selectFrom('users').select(['username', 'disabled', 'created_at']).execute();
      const roles = await db.selectFrom('user_roles').select(['username', 'role']).execute();
      const rolesByUser = new Map<string, string[]>();
      for (const { username, role } of roles) rolesByUser.set(username, [...(rolesByUser.get(username) ?? []), role]);
      return users
        .sort((a, b) => byCodePoint(a.username, b.username))
        .map((row) => ({ username: row.username, disabled: row.disabled === 1, roles: (rolesByUser.get(row.username) ?? []).sort(byCodePoint), createdAt: row.created_at }));
    },
    /** The account and its roles, together or not at all. */
    async add(username: string, passwordHash: string, roles: readonly string[], now: Date): Promise<void> {
      const at = now.toISOString();
      await atomically(db, async (trx) => {
        await trx.insertInto('users').values({ username, password_hash: passwordHash, disabled: 0, created_at: at, updated_at: at }).execute();
        await grantRoles(trx, username, roles);
      });
    },
    async setPasswordHash(username: string, passwordHash: string, now: Date): Promise<boolean> {
      const result = await db.updateTable('users').set({ password_hash: passwordHash, updated_at: now.toISOString() }).where('username', '=', username).executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
    async setDisabled(username: string, disabled: boolean, now: Date): Promise<boolean> {
      const result = await db.updateTable('users').set({ disabled: disabled ? 1 : 0, updated_at: now.toISOString() }).where('username', '=', username).executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
    async grantRole(username: string, role: string): Promise<void> {
      await grantRoles(db, username, [role]);
    },
    async revokeRole(username: string, role: string): Promise<boolean> {
      const result = await db.deleteFrom('user_roles').where('username', '=', username).where('role', '=', role).executeTakeFirst();
      return result.numDeletedRows === 1n;
    },
  };
}
