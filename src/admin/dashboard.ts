import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../db/sessions.ts';
import { translatorOf } from '../i18n/request-language.ts';
import type { Translator } from '../i18n/translate.ts';
import { nowSeconds, type WebisoServices } from '../services.ts';
import { formatTime } from '../time-format.ts';
import { horizontalBars, stackedColumns, type BarItem, type ColumnSlot } from './charts.ts';
import { consoleQueries, countByState, expiringWithin, type MachineState } from './console-queries.ts';
import { formView } from './form-state.ts';
import { common } from './pages.ts';

/**
 * The admin home: what needs a visit or a look this morning. Every number links to the page
 * that lists its machines; the charts repeat them at a glance, with text alternatives.
 */

const HOUR = 3600;
const DAY = 86_400;
const CHANGE_DAYS = 14;

const STATE_BARS: ReadonlyArray<{ state: MachineState; label: string; cls: string; href: string }> = [
  { state: 'working', label: 'Working', cls: 'c-ok', href: '/admin/machines?status=active&sort=expiresAt' },
  { state: 'expiring', label: 'Expires in 14 days', cls: 'c-warn', href: '/admin/expiring?days=14' },
  { state: 'no-cookie', label: 'No valid cookie', cls: 'c-bad', href: '/admin/machines?sort=expiresAt' },
  { state: 'suspended', label: 'Suspended', cls: 'c-muted', href: '/admin/machines?status=suspended' },
];

async function loginChart(services: WebisoServices, now: number, tr: Translator): Promise<string> {
  const firstHour = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
  const counts = new Map((await consoleQueries(services.store.db).loginsPerHour(firstHour)).map((row) => [row.hour, row]));
  const slots: ColumnSlot[] = Array.from({ length: 24 }, (_, index) => {
    const hour = firstHour + index * HOUR;
    const row = counts.get(hour);
    return {
      name: tr.date(hour),
      tick: index % 6 === 0 ? formatTime(hour).slice(11, 16) : undefined,
      parts: [
        { value: row?.success ?? 0, cls: 'c-ok', series: 'logins' },
        { value: row?.failure ?? 0, cls: 'c-bad', series: 'failed' },
      ],
    };
  });
  const legend = [{ cls: 'c-ok', key: 'logins', name: tr.t('chart.logins.logins') }, { cls: 'c-bad', key: 'failed', name: tr.t('chart.logins.failed') }];
  return stackedColumns('chart-logins', tr.t('chart.logins.title'), slots, legend, tr);
}

async function changesChart(services: WebisoServices, now: number, tr: Translator): Promise<string> {
  const firstDay = Math.floor(now / DAY) - CHANGE_DAYS + 1;
  const counts = new Map((await consoleQueries(services.store.db).changesPerDay(firstDay)).map((row) => [row.day, row]));
  const slots: ColumnSlot[] = Array.from({ length: CHANGE_DAYS }, (_, index) => {
    const day = firstDay + index;
    const row = counts.get(day);
    const date = formatTime(day * DAY).slice(0, 10);
    return {
      name: date,
      tick: index % 4 === 0 ? date.slice(5) : undefined,
      parts: [
        { value: row?.mints ?? 0, cls: 'c-info', series: 'mints' },
        { value: row?.revocations ?? 0, cls: 'c-bad', series: 'revocations' },
      ],
    };
  });
  const legend = [{ cls: 'c-info', key: 'mints', name: tr.t('chart.changes.mints') }, { cls: 'c-bad', key: 'revocations', name: tr.t('chart.changes.revocations') }];
  return stackedColumns('chart-changes', tr.t('chart.changes.title', { days: CHANGE_DAYS }), slots, legend, tr);
}

/** `tr`: the page's language, for the charts' words. The independent reads run side by side (on PostgreSQL, over several connections). */
export async function dashboardData(services: WebisoServices, tr: Translator) {
  const now = nowSeconds(services);
  const queries = consoleQueries(services.store.db);
  const [machines, openAlerts, alerts, deliveries, changes, loginChartSvg, changesChartSvg] = await Promise.all([
    services.machines.repository.list(),
    queries.openAlertCount(),
    services.machines.alerts.list('open', 5),
    services.logoutDeliveries.health(),
    queries.recentChanges(10),
    loginChart(services, now, tr),
    changesChart(services, now, tr),
  ]);
  const byState = countByState(machines, now);
  const bars: BarItem[] = STATE_BARS.map((bar) => ({ key: bar.state, label: tr.tr(bar.label), value: byState[bar.state], cls: bar.cls }));
  return {
    total: machines.length,
    byState,
    states: STATE_BARS.map((bar) => ({ ...bar, count: byState[bar.state] })),
    expiring14: expiringWithin(machines, now, 14),
    expiring30: expiringWithin(machines, now, 30),
    openAlerts,
    alerts: alerts.map((alert) => ({ ...alert, firstAt: formatTime(alert.firstAt), lastAt: formatTime(alert.lastAt) })),
    deliveries: deliveries.map((app) => ({ ...app, lastAttemptAt: formatTime(app.lastAttemptAt) })),
    changes: changes.map((event) => ({ ...event, at: formatTime(event.at) })),
    statusChart: horizontalBars('chart-status', tr.t('chart.status.title'), bars),
    loginChart: loginChartSvg,
    changesChart: changesChartSvg,
  };
}

export async function renderDashboard(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession): Promise<FastifyReply> {
  // audit rows are written in batches: flush so the login chart includes this one
  await services.audit.flush();
  const tr = translatorOf(request);
  return reply.page(200, 'admin/dashboard', {
    ...(await common(services, request, reply, session, 'Dashboard')),
    ...(await dashboardData(services, tr)),
    form: formView(undefined, tr),
  });
}
