import type { AppSession } from './app-session.ts';
import { isSessionEnded, type EndedSessionStore } from './ended-session-store.ts';

/** How this app turns "sid ended" into "these app sessions are over". */
export interface SessionEndPolicy {
  /**
   * webiso ended the sid. It never issues another grant from an ended session, so sessions made
   * from grants still in flight (valid for the grant max age) are ended too.
   */
  endedByWebiso(sid: string): Promise<void>;
  /**
   * This app replaced a session with another identity's. webiso may still hold the sid, so only
   * sessions created up to now end; a later login from the same webiso session works.
   */
  endedLocally(sid: string): Promise<void>;
  isEnded(session: AppSession): Promise<boolean>;
}

export interface SessionEndPolicyOptions {
  store: EndedSessionStore;
  now: () => number;
  /** The app session's hard lifetime: how long an end must be remembered. */
  sessionMaxSeconds: number;
  /** How long after its issue a grant can still be accepted (grant max age plus clock skew). */
  grantWindowSeconds: number;
  skewSeconds: number;
}

export function createSessionEndPolicy(options: SessionEndPolicyOptions): SessionEndPolicy {
  const { store, now } = options;
  const rememberMs = (options.sessionMaxSeconds + options.skewSeconds) * 1000;

  async function end(sid: string, endedAtMs: number): Promise<void> {
    await store.end(sid, endedAtMs, endedAtMs + rememberMs);
  }

  return {
    endedByWebiso: (sid) => end(sid, now() + (options.grantWindowSeconds + 1) * 1000),
    endedLocally: (sid) => end(sid, now()),
    async isEnded(session) {
      const sid = session.identity.sid;
      if (sid === undefined) return false;
      return isSessionEnded(session, await store.endedAt(sid));
    },
  };
}
