import type { AppSession } from './app-session.ts';

/**
 * Which webiso sessions (`sid`) have ended, so the app sessions they produced end too.
 *
 * App sessions live in signed cookies that the app cannot reach to delete; instead it remembers
 * "sid X ended at time T" and refuses, on its next request, every app session carrying sid X that
 * was created at or before T. An app with several instances backs this with a store they share
 * (Redis, SQL); the in-memory default only covers one process.
 */
export interface EndedSessionStore {
  /**
   * Ends every app session with `sid` created at or before `endedAtMs`. A second call for the same
   * sid must not move the time backwards (keep the later one). The entry may be dropped after
   * `forgetAtMs`: by then every such session has passed its hard expiry anyway.
   */
  end(sid: string, endedAtMs: number, forgetAtMs: number): void | Promise<void>;
  /** The latest `endedAtMs` recorded for `sid`, or null if it never ended (or was forgotten). */
  endedAt(sid: string): number | null | Promise<number | null>;
}

export interface MemoryEndedSessionStoreOptions {
  /** Clock in milliseconds, injectable for tests. */
  now?: () => number;
  /** How often, at most, to sweep forgotten entries. */
  purgeIntervalMs?: number;
}

export interface MemoryEndedSessionStore extends EndedSessionStore {
  end(sid: string, endedAtMs: number, forgetAtMs: number): void;
  endedAt(sid: string): number | null;
  /** Number of remembered sids (forgotten ones may linger until the next sweep). */
  readonly size: number;
}

interface EndedEntry {
  endedAtMs: number;
  forgetAtMs: number;
}

export function createMemoryEndedSessionStore(options: MemoryEndedSessionStoreOptions = {}): MemoryEndedSessionStore {
  const now = options.now ?? Date.now;
  const purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
  const ended = new Map<string, EndedEntry>();
  let lastPurge = now();

  function purgeForgotten(at: number): void {
    if (at - lastPurge < purgeIntervalMs) return;
    lastPurge = at;
    for (const [sid, entry] of ended) {
      if (entry.forgetAtMs <= at) ended.delete(sid);
    }
  }

  return {
    end(sid, endedAtMs, forgetAtMs) {
      purgeForgotten(now());
      const previous = ended.get(sid);
      ended.set(sid, {
        endedAtMs: Math.max(endedAtMs, previous?.endedAtMs ?? endedAtMs),
        forgetAtMs: Math.max(forgetAtMs, previous?.forgetAtMs ?? forgetAtMs),
      });
    },
    endedAt(sid) {
      const at = now();
      purgeForgotten(at);
      const entry = ended.get(sid);
      return entry === undefined || entry.forgetAtMs <= at ? null : entry.endedAtMs;
    },
    get size(): number {
      return ended.size;
    },
  };
}

/** Whether a session was ended: it carries an ended sid and is no younger than the end. */
export function isSessionEnded(session: AppSession, endedAtMs: number | null): boolean {
  return endedAtMs !== null && session.identity.sid !== undefined && session.created <= endedAtMs;
}
