/**
 * Small server-rendered SVG charts for the admin console. No script, no inline style: shapes get
 * classes (coloured by the page's nonce'd stylesheet, so dark mode recolours them) and every text
 * is XML-escaped. Each chart carries a <title>/<desc> text alternative; the pages put the same
 * numbers in a table or list beside it. Words come from the page's message catalog: the caller
 * passes translated titles and names, and a Translator for the words drawn here (docs/i18n.md).
 */

import type { Translator } from '../i18n/translate.ts';

export function escapeXml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export interface BarItem {
  readonly label: string;
  readonly value: number;
  /** colour class: c-ok, c-bad, c-warn, c-info, c-muted */
  readonly cls: string;
  readonly key: string;
}

const fmt = (n: number) => n.toFixed(1);

/** One horizontal bar per item, label left, count right: "machines by status". */
export function horizontalBars(id: string, title: string, items: readonly BarItem[]): string {
  const width = 420;
  const row = 26;
  const labelWidth = 130;
  const valueWidth = 40;
  const height = items.length * row + 4;
  const max = Math.max(1, ...items.map((item) => item.value));
  const bars = items.map((item, index) => {
    const y = index * row + 4;
    const length = ((width - labelWidth - valueWidth) * item.value) / max;
    return (
      `<g data-key="${escapeXml(item.key)}" data-value="${item.value}">` +
      `<text x="0" y="${y + 15}" class="chart-label">${escapeXml(item.label)}</text>` +
      `<rect x="${labelWidth}" y="${y + 2}" width="${fmt(Math.max(item.value > 0 ? 2 : 0, length))}" height="16" class="${item.cls}"/>` +
      `<text x="${fmt(labelWidth + length + 6)}" y="${y + 15}" class="chart-value">${item.value}</text></g>`
    );
  });
  const desc = items.map((item) => `${item.label}: ${item.value}`).join('; ');
  return svg(id, title, desc, width, height, bars.join(''));
}

export interface ColumnSlot {
  /** the slot's full name in its tooltip ("2026-11-22 13:00 UTC") */
  readonly name: string;
  /** a short axis label, shown on some slots only */
  readonly tick?: string | undefined;
  /** `series`: the legend entry's key */
  readonly parts: ReadonlyArray<{ readonly value: number; readonly cls: string; readonly series: string }>;
}

export interface LegendEntry {
  readonly cls: string;
  /** shown, in the page's language */
  readonly name: string;
  /** stable, in `data-series` and the columns' `series` (the English name); `name` when absent */
  readonly key?: string;
}

const keyOf = (entry: LegendEntry) => entry.key ?? entry.name;

/** Stacked columns over time (logins per hour, mints per day), with an axis, ticks and a legend. */
export function stackedColumns(id: string, title: string, slots: readonly ColumnSlot[], legend: readonly LegendEntry[], tr: Translator): string {
  const width = 480;
  const plotTop = 22;
  const plotHeight = 90;
  const axisY = plotTop + plotHeight;
  const height = axisY + 20;
  const slotWidth = width / Math.max(1, slots.length);
  const max = Math.max(1, ...slots.map((slot) => slot.parts.reduce((sum, part) => sum + part.value, 0)));
  const names = new Map(legend.map((entry) => [keyOf(entry), entry.name]));
  const columns = slots.map((slot, index) => column(slot, index * slotWidth, slotWidth, axisY, plotHeight / max, names, tr));
  // the first tick starts at the left edge: centred, it would be cut off
  const tickAt = (index: number) => (index === 0 ? `x="0" text-anchor="start"` : `x="${fmt(index * slotWidth + slotWidth / 2)}" text-anchor="middle"`);
  const ticks = slots.map((slot, index) => (slot.tick ? `<text ${tickAt(index)} y="${axisY + 14}" class="chart-tick">${escapeXml(slot.tick)}</text>` : ''));
  const totals = legend.map((entry) => `${entry.name} ${slots.reduce((sum, slot) => sum + slot.parts.filter((part) => part.series === keyOf(entry)).reduce((s, p) => s + p.value, 0), 0)}`);
  const body =
    legendRow(legend, 0, 12) +
    `<text x="${width}" y="12" class="chart-tick" text-anchor="end">${escapeXml(tr.t('chart.max', { max }))}</text>` +
    `<line x1="0" y1="${axisY}" x2="${width}" y2="${axisY}" class="chart-axis"/>` +
    columns.join('') +
    ticks.join('');
  return svg(id, title, tr.t('chart.span', { from: slots[0]?.name ?? '', to: slots.at(-1)?.name ?? '', totals: totals.join(', ') }), width, height, body);
}

function column(slot: ColumnSlot, x: number, slotWidth: number, axisY: number, scale: number, names: ReadonlyMap<string, string>, tr: Translator): string {
  let top = axisY;
  const rects = slot.parts
    .filter((part) => part.value > 0)
    .map((part) => {
      const h = part.value * scale;
      top -= h;
      return `<rect x="${fmt(x + 1)}" y="${fmt(top)}" width="${fmt(Math.max(1, slotWidth - 2))}" height="${fmt(h)}" class="${part.cls}"/>`;
    });
  if (rects.length === 0) return '';
  const words = slot.parts.map((part) => tr.t('chart.count', { count: part.value, series: names.get(part.series) ?? part.series })).join(', ');
  return `<g><title>${escapeXml(tr.t('chart.slot', { name: slot.name, words }))}</title>${rects.join('')}</g>`;
}

/** A row of legend swatches starting at (x, y): the chart's key, also read by the browser tests. */
export function legendRow(legend: readonly LegendEntry[], x: number, y: number): string {
  let offset = x;
  const entries = legend.map((entry) => {
    const item = `<g class="legend-item" data-series="${escapeXml(keyOf(entry))}"><rect x="${offset}" y="${y - 9}" width="10" height="10" class="${entry.cls}"/><text x="${offset + 14}" y="${y}" class="chart-tick">${escapeXml(entry.name)}</text></g>`;
    offset += 24 + entry.name.length * 6.5;
    return item;
  });
  return `<g class="legend">${entries.join('')}</g>`;
}

export function svg(id: string, title: string, desc: string, width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" id="${escapeXml(id)}" class="chart" role="img" aria-labelledby="${escapeXml(id)}-title ${escapeXml(id)}-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<title id="${escapeXml(id)}-title">${escapeXml(title)}</title><desc id="${escapeXml(id)}-desc">${escapeXml(desc)}</desc>` +
    body +
    `</svg>`
  );
}
