/** Display helpers for the admin pages: times are UTC, to the minute. */
export function formatTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
}

export function daysUntil(seconds: number | null, nowSeconds: number): number | null {
  return seconds === null ? null : Math.floor((seconds - nowSeconds) / 86_400);
}
