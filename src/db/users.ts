import type { Db } from './database.ts';

export interface UserRow {
  readonly username: string;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly roles: readonly string[];
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

export type UsersRepository = ReturnType<typeof createUsersRepository>;

export function createUsersRepository(db: Db) {
  const selectUser = db.prepare<[string], { username: string; password_hash: string; disabled: number; created_at: string }>(
    'SELECT username, password_hash, disabled, created_at FROM users WHERE username = ?',
  );
  const selectRoles = db.prepare<[string], string>('SELECT role FROM user_roles WHERE username = ? ORDER BY role').pluck();
  const selectAll = db.prepare<[], { username: string; disabled: number; created_at: string; roles: string | null }>(
    `SELECT u.username, u.disabled, u.created_at, group_concat(r.role, ',') AS roles
       FROM users u LEFT JOIN user_roles r ON r.username = u.username
      GROUP BY u.username ORDER BY u.username`,
  );
  const insertUser = db.prepare('INSERT INTO users (username, password_hash, disabled, created_at, updated_at) VALUES (?, ?, 0, ?, ?)');
  const updateHash = db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?');
  const updateDisabled = db.prepare('UPDATE users SET disabled = ?, updated_at = ? WHERE username = ?');
  const insertRole = db.prepare('INSERT OR IGNORE INTO user_roles (username, role) VALUES (?, ?)');
  const deleteRole = db.prepare('DELETE FROM user_roles WHERE username = ? AND role = ?');

  const addUser = db.transaction((username: string, passwordHash: string, roles: readonly string[], now: string) => {
    insertUser.run(username, passwordHash, now, now);
    for (const role of roles) insertRole.run(username, role);
  });

  return {
    find(username: string): UserRow | undefined {
      const row = selectUser.get(username);
      if (!row) return undefined;
      return { username: row.username, passwordHash: row.password_hash, disabled: row.disabled === 1, roles: selectRoles.all(row.username), createdAt: row.created_at };
    },
    rolesOf(username: string): string[] {
      return selectRoles.all(username);
    },
    list(): Array<{ username: string; disabled: boolean; roles: string[]; createdAt: string }> {
      return selectAll.all().map((row) => ({
        username: row.username,
        disabled: row.disabled === 1,
        roles: row.roles ? row.roles.split(',').sort() : [],
        createdAt: row.created_at,
      }));
    },
    add(username: string, passwordHash: string, roles: readonly string[], now: Date): void {
      addUser(username, passwordHash, roles, now.toISOString());
    },
    setPasswordHash(username: string, passwordHash: string, now: Date): boolean {
      return updateHash.run(passwordHash, now.toISOString(), username).changes === 1;
    },
    setDisabled(username: string, disabled: boolean, now: Date): boolean {
      return updateDisabled.run(disabled ? 1 : 0, now.toISOString(), username).changes === 1;
    },
    grantRole(username: string, role: string): void {
      insertRole.run(username, role);
    },
    revokeRole(username: string, role: string): boolean {
      return deleteRole.run(username, role).changes === 1;
    },
  };
}
