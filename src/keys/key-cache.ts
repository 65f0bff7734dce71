import type { FastifyBaseLogger } from 'fastify';
import type { KeyPurpose, KeysRepository, StoredKey } from './keys-repository.ts';

/**
 * How old the in-memory copy of the signing keys may get before it is read again: a rotation on
 * one host (or by the CLI) is seen by every host within this period, 5 s. The grant is signed on
 * every SSO redirect, so signing reads this copy synchronously and never waits for the database.
 */
export const CACHE_SECONDS = 5;

export interface KeyCache {
  /**
   * The keys of a purpose from memory, newest first, at once. A copy older than CACHE_SECONDS
   * is still answered (stale-while-revalidate) and starts a refresh in the background.
   */
  keys(purpose: KeyPurpose): readonly StoredKey[];
  /** The keys, read again first when the copy is stale; a failed read falls back to the last copy. */
  freshKeys(purpose: KeyPurpose): Promise<readonly StoredKey[]>;
  /** Reads the keys now (after a rotation by this process); resolves once the copy is replaced. */
  reload(): Promise<void>;
  setLogger(log: FastifyBaseLogger): void;
  /** Stops the background timer. */
  close(): void;
}

/**
 * One snapshot of every purpose's keys (one query), replaced by a background read every
 * CACHE_SECONDS and whenever a reader finds it stale. A failed read keeps the last snapshot and
 * is tried again on the next tick or stale read; at most one read is under way at a time.
 */
export function createKeyCache(repository: KeysRepository, now: () => number): KeyCache {
  let snapshot: { loadedAt: number; byPurpose: Map<KeyPurpose, StoredKey[]> } | undefined;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let log: FastifyBaseLogger | undefined;
  let closed = false;
  const nowSeconds = () => Math.floor(now() / 1000);

  async function load(): Promise<void> {
    const startedAt = nowSeconds();
    const byPurpose = new Map<KeyPurpose, StoredKey[]>();
    for (const key of await repository.all()) byPurpose.set(key.purpose, [...(byPurpose.get(key.purpose) ?? []), key]);
    snapshot = { loadedAt: startedAt, byPurpose };
  }

  function refresh(): Promise<void> {
    inFlight ??= load().finally(() => (inFlight = undefined));
    return inFlight;
  }

  function reportFailure(error: unknown): void {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    log?.warn({ event: 'keys.refresh_failed', err: { code, message } }, 'the signing keys could not be read again; the last copy stays in use');
  }

  function refreshInBackground(): void {
    if (closed || inFlight) return;
    refresh().catch(reportFailure);
  }

  function startTimer(): void {
    if (timer || closed) return;
    timer = setInterval(refreshInBackground, CACHE_SECONDS * 1000);
    // the timer keeps no process alive (the CLI exits when its command is done)
    timer.unref();
  }

  const isStale = () => snapshot === undefined || nowSeconds() - snapshot.loadedAt >= CACHE_SECONDS;

  return {
    keys(purpose) {
      if (isStale()) refreshInBackground();
      return snapshot?.byPurpose.get(purpose) ?? [];
    },
    async freshKeys(purpose) {
      if (isStale()) {
        try {
          await refresh();
        } catch (error) {
          if (snapshot === undefined) throw error;
          reportFailure(error);
        }
      }
      return snapshot?.byPurpose.get(purpose) ?? [];
    },
    async reload() {
      // a read that began before this process's write may not see it: let it end, then read again
      await inFlight?.catch(() => undefined);
      await refresh();
      startTimer();
    },
    setLogger(logger) {
      log = logger;
    },
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
