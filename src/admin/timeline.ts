import type { MachineAlert } from '../machines/alerts-repository.ts';
import type { Translator } from '../i18n/translate.ts';
import { formatTime } from '../time-format.ts';
import { escapeXml, legendRow, svg } from './charts.ts';
import type { LaneSighting } from './console-queries.ts';

/**
 * "Where it has been seen" as a timeline: one lane per claimed address (or network), presentations
 * (accepted, lower half) and refusals (diamonds, upper half: told apart by shape, not colour only)
 * bucketed on a shared time axis, with the machine's alerts in a lane of their own on the same axis.
 * Server-rendered SVG: classes for colours (dark mode), a <title>/<desc> text alternative, and a
 * per-lane summary the page shows as a table. The drawing's words and times are in the page's
 * language (a Translator); the summaries keep formatTime()'s English form for the template's it.date.
 */

export const TIMELINE_PERIODS = [1, 7, 30, 90] as const;
export type LaneGrouping = 'address' | 'network';

const WIDTH = 760;
const LABEL = 190;
const LANE = 30;
const TOP = 26;
const SLOTS = 96;

/** Whole seconds, the same for the SQL grouping (console-queries laneSightings) and the drawing. */
export function timelineSlotSeconds(start: number, end: number): number {
  return Math.max(1, Math.ceil((end - start) / SLOTS));
}
const MAX_LANES = 12;

export interface LaneSummary {
  readonly key: string;
  readonly network: string;
  readonly accepted: number;
  readonly refused: number;
  readonly first: string;
  readonly last: string;
}

export interface TimelineView {
  readonly svg: string;
  readonly lanes: readonly LaneSummary[];
  /** lanes beyond the ones drawn (listed in the table only) */
  readonly hidden: number;
}

interface Lane {
  readonly key: string;
  readonly network: string;
  readonly accepted: number[];
  readonly refused: number[];
  first: number;
  last: number;
}

function buildLanes(sightings: readonly LaneSighting[], grouping: LaneGrouping, start: number, slotSeconds: number): Lane[] {
  const lanes = new Map<string, Lane>();
  for (const sighting of sightings) {
    const key = grouping === 'network' ? sighting.network : sighting.clientIp;
    let lane = lanes.get(key);
    if (!lane) {
      lane = { key, network: sighting.network, accepted: new Array<number>(SLOTS).fill(0), refused: new Array<number>(SLOTS).fill(0), first: sighting.at, last: sighting.lastAt };
      lanes.set(key, lane);
    }
    const slot = Math.min(SLOTS - 1, Math.max(0, Math.floor((sighting.at - start) / slotSeconds)));
    (sighting.outcome === 'accepted' ? lane.accepted : lane.refused)[slot]! += sighting.count;
    lane.first = Math.min(lane.first, sighting.at);
    lane.last = Math.max(lane.last, sighting.lastAt);
  }
  // the most recently seen first: the address it is at now is the one an admin looks for
  return [...lanes.values()].sort((a, b) => b.last - a.last || a.key.localeCompare(b.key));
}

const x = (slot: number) => LABEL + (slot * (WIDTH - LABEL)) / SLOTS;
const slotWidth = (WIDTH - LABEL) / SLOTS;

function laneMarks(lane: Lane, y: number, slotNames: readonly string[], tr: Translator): string {
  const marks: string[] = [];
  lane.accepted.forEach((count, slot) => {
    if (count === 0) return;
    marks.push(`<rect x="${x(slot).toFixed(1)}" y="${y + 15}" width="${Math.max(2, slotWidth - 1).toFixed(1)}" height="11" class="c-ok mark-accepted"><title>${escapeXml(tr.t('timeline.markAccepted', { lane: lane.key, slot: slotNames[slot], count }))}</title></rect>`);
  });
  lane.refused.forEach((count, slot) => {
    if (count === 0) return;
    const cx = x(slot) + slotWidth / 2;
    const points = `${cx.toFixed(1)},${y + 3} ${(cx + 5).toFixed(1)},${y + 8} ${cx.toFixed(1)},${y + 13} ${(cx - 5).toFixed(1)},${y + 8}`;
    marks.push(`<polygon points="${points}" class="c-bad mark-refused"><title>${escapeXml(tr.t('timeline.markRefused', { lane: lane.key, slot: slotNames[slot], count }))}</title></polygon>`);
  });
  const label = lane.key === lane.network ? lane.key : `${lane.key}  ${lane.network}`;
  return (
    `<g class="lane" data-lane="${escapeXml(lane.key)}">` +
    `<line x1="${LABEL}" y1="${y + LANE - 2}" x2="${WIDTH}" y2="${y + LANE - 2}" class="chart-grid"/>` +
    `<text x="0" y="${y + 19}" class="chart-label">${escapeXml(label.length > 30 ? `${label.slice(0, 29)}…` : label)}</text>` +
    marks.join('') +
    `</g>`
  );
}

function alertLane(alerts: readonly MachineAlert[], y: number, start: number, end: number, tr: Translator): string {
  const span = end - start;
  const toX = (at: number) => LABEL + ((Math.min(end, Math.max(start, at)) - start) / span) * (WIDTH - LABEL);
  const marks = alerts
    .filter((alert) => alert.lastAt >= start && alert.firstAt <= end)
    .map((alert) => {
      const x1 = toX(alert.firstAt);
      const width = Math.max(4, toX(alert.lastAt) - x1);
      const text = tr.t('timeline.markAlert', { id: alert.id, rule: tr.label('rule', alert.rule), ip: alert.clientIp, from: tr.date(alert.firstAt), to: tr.date(alert.lastAt), status: tr.tr(alert.status) });
      return `<g class="mark-alert" data-alert="${alert.id}"><title>${escapeXml(text)}</title><rect x="${x1.toFixed(1)}" y="${y + 8}" width="${width.toFixed(1)}" height="12" class="c-warn"/><polygon points="${x1.toFixed(1)},${y + 2} ${(x1 + 5).toFixed(1)},${y + 8} ${(x1 - 5).toFixed(1)},${y + 8}" class="c-warn"/></g>`;
    });
  return `<g class="lane lane-alerts" data-lane="alerts"><text x="0" y="${y + 19}" class="chart-label">${escapeXml(tr.t('timeline.alerts'))}</text><line x1="${LABEL}" y1="${y + LANE - 2}" x2="${WIDTH}" y2="${y + LANE - 2}" class="chart-grid"/>${marks.join('')}</g>`;
}

function axis(y: number, start: number, end: number, tr: Translator): string {
  const ticks: string[] = [];
  for (let index = 0; index <= 4; index += 1) {
    const at = start + ((end - start) * index) / 4;
    const tx = LABEL + ((WIDTH - LABEL) * index) / 4;
    const anchor = index === 0 ? 'start' : index === 4 ? 'end' : 'middle';
    ticks.push(`<line x1="${tx.toFixed(1)}" y1="${y}" x2="${tx.toFixed(1)}" y2="${y + 4}" class="chart-axis"/><text x="${tx.toFixed(1)}" y="${y + 16}" class="chart-tick" text-anchor="${anchor}">${escapeXml(tr.date(at).replace(' UTC', ''))}</text>`);
  }
  return `<line x1="${LABEL}" y1="${y}" x2="${WIDTH}" y2="${y}" class="chart-axis"/>${ticks.join('')}<text x="0" y="${y + 16}" class="chart-tick">${escapeXml(tr.t('timeline.utc'))}</text>`;
}

export function renderTimeline(
  sightings: readonly LaneSighting[],
  alerts: readonly MachineAlert[],
  options: { start: number; end: number; grouping: LaneGrouping },
  tr: Translator,
): TimelineView {
  const { start, end, grouping } = options;
  const slotSeconds = timelineSlotSeconds(start, end);
  const lanes = buildLanes(sightings, grouping, start, slotSeconds);
  const shown = lanes.slice(0, MAX_LANES);
  const slotNames = Array.from({ length: SLOTS }, (_, slot) => tr.t('timeline.slot', { from: tr.date(start + slot * slotSeconds), to: tr.date(start + (slot + 1) * slotSeconds) }));
  const alertsY = TOP;
  const body = [
    legendRow(
      [
        { cls: 'c-ok', key: 'Accepted', name: tr.t('timeline.accepted') },
        { cls: 'c-bad', key: 'Refused', name: tr.t('timeline.refused') },
        { cls: 'c-warn', key: 'Alert', name: tr.t('timeline.alert') },
      ],
      LABEL,
      14,
    ),
    alertLane(alerts, alertsY, start, end, tr),
    ...shown.map((lane, index) => laneMarks(lane, TOP + LANE * (index + 1), slotNames, tr)),
    shown.length === 0 ? `<text x="${LABEL}" y="${TOP + LANE + 19}" class="chart-label">${escapeXml(tr.t('timeline.none'))}</text>` : '',
    axis(TOP + LANE * (Math.max(1, shown.length) + 1) + 2, start, end, tr),
  ].join('');
  const height = TOP + LANE * (Math.max(1, shown.length) + 1) + 24;
  const summaries = lanes.map((lane) => ({ key: lane.key, network: lane.network, accepted: sum(lane.accepted), refused: sum(lane.refused), first: formatTime(lane.first), last: formatTime(lane.last) }));
  const inPeriod = alerts.filter((alert) => alert.lastAt >= start && alert.firstAt <= end).length;
  const laneWords = summaries.map((lane) => tr.t('timeline.lane', { lane: lane.key, accepted: lane.accepted, refused: lane.refused })).join('; ') || tr.t('timeline.noneShort');
  const desc = tr.t('timeline.desc', { from: tr.date(start), to: tr.date(end), lanes: laneWords, alerts: inPeriod });
  const title = tr.t(grouping === 'network' ? 'timeline.title.network' : 'timeline.title.address');
  return { svg: svg('timeline', title, desc, WIDTH, height, body), lanes: summaries, hidden: Math.max(0, lanes.length - shown.length) };
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
