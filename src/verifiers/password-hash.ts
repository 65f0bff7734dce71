import { hash, verify } from '@node-rs/argon2';

/** ASVS 5.0 / OWASP minimum for argon2id: 19 MiB, two passes, one lane. */
export const ARGON2_PARAMETERS = { algorithm: 2 /* Algorithm.Argon2id: a const enum, unusable under verbatimModuleSyntax */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Longest password accepted: long passphrases pass untouched, megabyte bodies do not reach argon2. */
export const MAX_PASSWORD_LENGTH = 1024;

/** @node-rs/argon2 runs on libuv's thread pool, so hashing never blocks the event loop. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMETERS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** True when a stored hash is weaker than today's parameters, so a successful login re-hashes it. */
export function needsRehash(passwordHash: string): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(passwordHash);
  if (!match) return true;
  const [, memory, time, lanes] = match.map(Number) as [number, number, number, number];
  return memory < ARGON2_PARAMETERS.memoryCost || time < ARGON2_PARAMETERS.timeCost || lanes !== ARGON2_PARAMETERS.parallelism;
}

/**
 * Caps concurrent hash computations so a password spray queues instead of exhausting
 * memory (19 MiB each) and starving every other request of the thread pool.
 */
export function createConcurrencyLimit(max: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async function limit<T>(task: () => Promise<T>): Promise<T> {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}
