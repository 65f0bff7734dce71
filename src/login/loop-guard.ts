import type { WebisoServices } from '../services.ts';

/**
 * Redirect-loop breaker: an app that keeps refusing what webiso sends (its clock is off, its
 * cookies are blocked, its key cache is stale) bounces the browser back at once, and every bounce
 * is answered from the SSO session without a prompt — a loop that hammers both servers. More than
 * `loopGuard.maxAnswers` silent answers for one session and one app within
 * `loopGuard.windowSeconds` stop the loop with a page that says what is going on; the count then
 * starts again, so "try once more" works. Per process: with several hosts the bound is per host.
 */
const MAX_TRACKED = 100_000;

interface Window {
  start: number;
  count: number;
}

const windows = new WeakMap<WebisoServices, Map<string, Window>>();

function windowsOf(services: WebisoServices): Map<string, Window> {
  let map = windows.get(services);
  if (!map) windows.set(services, (map = new Map()));
  return map;
}

/** Counts one silent answer; true when this one is over the bound (the loop must be broken). */
export function isLooping(services: WebisoServices, sid: string, appId: string, protocol: string): boolean {
  const { maxAnswers, windowSeconds } = services.config.loopGuard;
  if (maxAnswers === 0) return false;
  const now = Math.floor(services.now() / 1000);
  const map = windowsOf(services);
  const key = `${sid}|${appId}|${protocol}`;
  const current = map.get(key);
  if (!current || now - current.start >= windowSeconds) {
    if (map.size >= MAX_TRACKED) map.clear();
    map.set(key, { start: now, count: 1 });
    return false;
  }
  current.count += 1;
  if (current.count <= maxAnswers) return false;
  map.delete(key);
  return true;
}
