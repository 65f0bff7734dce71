import { foldUsername, type UsersRepository } from '../db/users.ts';
import { createConcurrencyLimit, hashPassword, needsRehash, verifyPassword } from './password-hash.ts';
import type { PasswordVerifier, VerifyOutcome } from './verifier.ts';

export interface LocalVerifierOptions {
  readonly users: UsersRepository;
  readonly now: () => number;
  /** concurrent argon2 computations; the rest queue (verifier.maxConcurrentHashes) */
  readonly maxConcurrentHashes: number;
}

/**
 * Local accounts in the store. An unknown or disabled user costs the same argon2 work as a
 * wrong password, so response time does not tell which usernames exist (the lookup itself is one
 * indexed query either way).
 */
export function createLocalVerifier({ users, now, maxConcurrentHashes }: LocalVerifierOptions): PasswordVerifier {
  const limit = createConcurrencyLimit(maxConcurrentHashes);
  let decoyHash: Promise<string> | undefined;
  const decoy = () => (decoyHash ??= hashPassword('webiso-decoy-password-for-unknown-users'));

  return {
    kind: 'local',
    async verify(username, password): Promise<VerifyOutcome> {
      const folded = foldUsername(username);
      const account = await users.find(folded);
      const storedHash = account?.passwordHash ?? (await decoy());
      const matches = await limit(() => verifyPassword(storedHash, password));
      if (!account || account.disabled || !matches) return { ok: false, reason: 'invalid_credentials' };
      if (needsRehash(account.passwordHash)) {
        await users.setPasswordHash(account.username, await limit(() => hashPassword(password)), new Date(now()));
      }
      return { ok: true, user: { username: account.username, roles: account.roles, amr: ['pwd'] } };
    },
  };
}
