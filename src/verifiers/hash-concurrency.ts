import { availableParallelism } from 'node:os';

/** Set by `webiso serve --workers N`'s primary in each worker's environment: how many share this host's cores. */
export const WORKER_COUNT_ENV = 'WEBISO_WORKER_COUNT';

const LIBUV_DEFAULT_POOL = 4;

/**
 * Argon2id computations one process runs at once when `verifier.maxConcurrentHashes` is not set.
 * A burst of logins must leave a core to the event loops that serve every SSO redirect, and a
 * thread of libuv's pool to the file system and DNS lookups (LDAP and KDC host names) that share
 * it: cores − 1, divided among the workers of this host, at most the pool less one, at least 1.
 * (2 cores: 1. 8 cores, one process: 3. 8 cores, 8 workers: 1 each.) Measured in
 * docs/performance.md: on 2 cores, 4 or 2 hashes at once put the event-loop delay p99 at 31 and
 * 18 ms, 1 at 8 ms.
 */
export function defaultHashConcurrency(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const workers = Math.max(1, Number.parseInt(env[WORKER_COUNT_ENV] ?? '1', 10) || 1);
  const pool = Math.max(1, Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10) || LIBUV_DEFAULT_POOL);
  return Math.max(1, Math.min(Math.floor((cores - 1) / workers), pool - 1));
}
