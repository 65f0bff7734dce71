/**
 * The one way webiso shows a time to a person, on every page, in the CLI and in the demo app:
 * UTC to the minute, `2026-12-06 07:59 UTC`. Machine-readable output (JSON, logs, audit rows)
 * keeps ISO 8601 or unix seconds. `locale` (a BCP 47 tag, docs/i18n.md) localises the pages: English
 * keeps exactly the format above; other languages use Intl.DateTimeFormat in UTC, still with `UTC`.
 */

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** `seconds` since the epoch as `YYYY-MM-DD HH:MM UTC`; `none` for a missing time. */
export function formatTime(seconds: number | null | undefined, none = '—', locale = 'en'): string {
  if (seconds === null || seconds === undefined) return none;
  const date = new Date(seconds * 1000);
  // beyond the range of Date (±8.64e15 ms) there is no calendar time to show
  if (Number.isNaN(date.getTime())) return none;
  if (isEnglish(locale)) return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `${dateFormat(locale).format(date)} UTC`;
}

function isEnglish(locale: string): boolean {
  return locale === 'en' || locale.startsWith('en-');
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** `6 dic 2026, 7:59` in es: the locale's medium date and 24-hour time, always in UTC. */
function dateFormat(locale: string): Intl.DateTimeFormat {
  let format = dateFormats.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23', timeZone: 'UTC' });
    dateFormats.set(locale, format);
  }
  return format;
}

/** A number with the locale's digit grouping and decimal sign (`1,234.5`, es `1234,5`). */
export function formatNumber(value: number, locale = 'en'): string {
  return new Intl.NumberFormat(locale).format(value);
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

/** The same rounding as approximate(), as a count and an Intl unit. */
function approximateUnit(seconds: number): [number, Intl.RelativeTimeFormatUnit] {
  const minutes = Math.max(1, Math.round(seconds / MINUTE));
  if (minutes < 60) return [minutes, 'minute'];
  const hours = Math.round(seconds / HOUR);
  if (hours < 48) return [hours, 'hour'];
  return [Math.round(seconds / DAY), 'day'];
}

/** "in less than a minute" and its past, per language (Intl has no phrase for it). */
const UNDER_A_MINUTE: Readonly<Record<string, readonly [string, string]>> = {
  es: ['en menos de un minuto', 'hace menos de un minuto'],
};

/** How far `target` lies from `now` (both unix seconds): "in 5 days", "in 3 hours", "2 days ago". */
export function formatRelative(target: number, now: number, locale = 'en'): string {
  const delta = target - now;
  if (!isEnglish(locale)) {
    const under = UNDER_A_MINUTE[locale.split('-')[0] ?? ''];
    if (Math.abs(delta) < MINUTE && under) return delta >= 0 ? under[0] : under[1];
    const [count, unit] = approximateUnit(Math.abs(delta));
    return new Intl.RelativeTimeFormat(locale, { numeric: 'always' }).format(delta >= 0 ? count : -count, unit);
  }
  if (Math.abs(delta) < MINUTE) return delta >= 0 ? 'in less than a minute' : 'less than a minute ago';
  return delta > 0 ? `in ${approximate(delta)}` : `${approximate(-delta)} ago`;
}
