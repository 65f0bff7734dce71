/**
 * The one way webiso shows a time to a person, on every page, in the CLI and in the demo app:
 * UTC to the minute, `2026-12-06 07:59 UTC`. Machine-readable output (JSON, logs, audit rows)
 * keeps ISO 8601 or unix seconds.
 */

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** `seconds` since the epoch as `YYYY-MM-DD HH:MM UTC`; `none` for a missing time. */
export function formatTime(seconds: number | null | undefined, none = '—'): string {
  if (seconds === null || seconds === undefined) return none;
  const date = new Date(seconds * 1000);
  // beyond the range of Date (±8.64e15 ms) there is no calendar time to show
  if (Number.isNaN(date.getTime())) return none;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** A duration in the largest unit that still reads precisely, rounded to the nearest whole unit. */
function approximate(seconds: number): string {
  const minutes = Math.max(1, Math.round(seconds / MINUTE));
  if (minutes < 60) return plural(minutes, 'minute');
  // under two days hours say more than "1 day"; beyond, whole days rounded: 4 d 23 h is "5 days"
  const hours = Math.round(seconds / HOUR);
  if (hours < 48) return plural(hours, 'hour');
  return plural(Math.round(seconds / DAY), 'day');
}

/** How far `target` lies from `now` (both unix seconds): "in 5 days", "in 3 hours", "2 days ago". */
export function formatRelative(target: number, now: number): string {
  const delta = target - now;
  if (Math.abs(delta) < MINUTE) return delta >= 0 ? 'in less than a minute' : 'less than a minute ago';
  return delta > 0 ? `in ${approximate(delta)}` : `${approximate(-delta)} ago`;
}
