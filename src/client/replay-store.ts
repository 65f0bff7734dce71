/**
 * Remembers which grant ids (`jti`) have been presented, so each grant works once. A shared store
 * (Redis SET NX PX, a SQL unique key) is needed when several app instances share one app id.
 */
export interface ReplayStore {
  /**
   * Records `jti` as used until `expiresAtMs`. Returns true on first use, false if already seen.
   * Must be atomic: two concurrent calls for one jti must not both return true.
   */
  consume(jti: string, expiresAtMs: number): boolean | Promise<boolean>;
}

export interface MemoryReplayStoreOptions {
  /** Clock in milliseconds, injectable for tests. */
  now?: () => number;
  /** How often, at most, to sweep expired entries. */
  purgeIntervalMs?: number;
}

export interface MemoryReplayStore extends ReplayStore {
  consume(jti: string, expiresAtMs: number): boolean;
  /** Number of remembered ids (expired ones may linger until the next sweep). */
  readonly size: number;
}

/**
 * An in-process store. `consume` is synchronous, so it is atomic under Node's event loop: exactly
 * one of any number of concurrent verifications of one grant wins.
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): MemoryReplayStore {
  const now = options.now ?? Date.now;
  const purgeIntervalMs = options.purgeIntervalMs ?? 10_000;
  const seen = new Map<string, number>();
  let lastPurge = now();

  function purgeExpired(at: number): void {
    if (at - lastPurge < purgeIntervalMs) return;
    lastPurge = at;
    for (const [jti, expiresAt] of seen) {
      if (expiresAt <= at) seen.delete(jti);
    }
  }

  return {
    consume(jti: string, expiresAtMs: number): boolean {
      const at = now();
      purgeExpired(at);
      const previous = seen.get(jti);
      if (previous !== undefined && previous > at) return false;
      seen.set(jti, expiresAtMs);
      return true;
    },
    get size(): number {
      return seen.size;
    },
  };
}
