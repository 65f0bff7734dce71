import type { DailyCount } from '../machines/sightings-repository.ts';

const WIDTH = 600;
const HEIGHT = 110;
const TOP = 8;
const AXIS = 18;

/**
 * A small server-rendered bar chart of a machine's sightings per day (accepted below, rejected
 * stacked on top). Only numbers and dates go into the markup, and colours are SVG attributes, not
 * inline styles, so the page's CSP needs no exception.
 */
export function renderTimeline(counts: readonly DailyCount[], firstDay: number, days: number): string {
  const byDay = new Map(counts.map((count) => [count.day, count]));
  const max = Math.max(1, ...counts.map((count) => count.accepted + count.rejected));
  const slot = WIDTH / days;
  const plot = HEIGHT - TOP - AXIS;
  const bars: string[] = [];
  for (let index = 0; index < days; index += 1) {
    const day = firstDay + index;
    const count = byDay.get(day);
    if (!count) continue;
    const x = (index * slot + 1).toFixed(1);
    const width = Math.max(1, slot - 2).toFixed(1);
    const acceptedHeight = (count.accepted / max) * plot;
    const rejectedHeight = (count.rejected / max) * plot;
    const date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    bars.push(
      `<g><title>${date}: ${count.accepted} accepted, ${count.rejected} rejected</title>` +
        `<rect x="${x}" y="${(TOP + plot - acceptedHeight).toFixed(1)}" width="${width}" height="${acceptedHeight.toFixed(1)}" fill="#2e7d32"/>` +
        `<rect x="${x}" y="${(TOP + plot - acceptedHeight - rejectedHeight).toFixed(1)}" width="${width}" height="${rejectedHeight.toFixed(1)}" fill="#c62828"/></g>`,
    );
  }
  const first = new Date(firstDay * 86_400_000).toISOString().slice(0, 10);
  const last = new Date((firstDay + days - 1) * 86_400_000).toISOString().slice(0, 10);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" id="timeline" role="img" aria-label="Sightings per day, ${first} to ${last}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" height="${HEIGHT}">` +
    `<line x1="0" y1="${HEIGHT - AXIS}" x2="${WIDTH}" y2="${HEIGHT - AXIS}" stroke="#888"/>` +
    bars.join('') +
    `<text x="0" y="${HEIGHT - 4}" font-size="11" fill="#666">${first}</text>` +
    `<text x="${WIDTH}" y="${HEIGHT - 4}" font-size="11" fill="#666" text-anchor="end">${last}</text>` +
    `<text x="2" y="${TOP + 4}" font-size="11" fill="#666">max ${max}/day</text>` +
    `</svg>`
  );
}
