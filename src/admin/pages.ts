import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../db/sessions.ts';
import { browserBinding, csrfToken } from '../http/csrf.ts';
import type { RawParams } from '../login/granting-request.ts';
import type { Machine } from '../machines/machines-repository.ts';
import type { WebisoServices } from '../services.ts';
import { adminLoginUrl, mintPermission } from './admin-session.ts';
import { formatRelative, formatTime } from '../time-format.ts';
import { formView, type FormState } from './form-state.ts';
import { parseListQuery, selectMachines, sortLink, SORT_KEYS, type SortKey } from './machine-list.ts';
import type { PasswordEntriesRepository } from './password-entries.ts';
import { renderTimeline, TIMELINE_PERIODS, timelineSlotSeconds, type LaneGrouping } from './timeline.ts';
import { consoleQueries } from './console-queries.ts';
import { nowSeconds } from '../services.ts';

const TIMELINE_DAYS = 30;
const DEFAULT_EXPIRING_DAYS = 30;
const DAY = 86_400;

const COLUMN_TITLES: Record<SortKey, string> = {
  fqdn: 'Machine',
  version: 'Version',
  status: 'Status',
  setBy: 'Set by',
  setAt: 'Set at',
  expiresAt: 'Expires',
  lastSeen: 'Last seen',
  lastIp: 'Last IP',
  openAlerts: 'Open alerts',
};

/** Messages after a POST-redirect-GET; only these keys are ever shown. */
const DONE_MESSAGES: Readonly<Record<string, string>> = {
  added: 'The machine was added. Mint a cookie for it from the kiosk browser, or issue an enrollment link below.',
  updated: 'The details were saved.',
  revoked: 'Revoked: the version went up, so every cookie of this machine stopped working.',
  suspended: 'Suspended: the machine is refused until it is reactivated.',
  reactivated: 'Reactivated.',
  unchanged: 'Nothing changed: the machine already was in that state.',
  'alert-closed': 'The alert was closed.',
  'enrollment-cancelled': 'The enrollment link was cancelled: it can no longer be used.',
};

/** What every admin page shows at the top: who is logged in, navigation, the logout form. */
export function common(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession, title: string) {
  const binding = browserBinding(request, reply);
  return {
    title,
    admin: session.username,
    // in the navigation of every admin page
    openAlertCount: consoleQueries(services.db).openAlertCount(),
    csrf: csrfToken(services.formSecret, 'admin', binding),
    logoutCsrf: csrfToken(services.formSecret, 'logout', binding),
  };
}

function machineRow(machine: ReturnType<WebisoServices['machines']['repository']['list']>[number], now: number) {
  return {
    fqdn: machine.fqdn,
    version: machine.version,
    status: machine.status,
    setBy: machine.setBy,
    setAt: formatTime(machine.setAt),
    expiresAt: formatTime(machine.expiresAt),
    expiresIn: machine.expiresAt === null ? '—' : formatRelative(machine.expiresAt, now),
    lastSeen: formatTime(machine.lastSeen),
    lastIp: machine.lastIp ?? '—',
    openAlerts: machine.openAlerts,
    location: machine.location ?? '',
  };
}

/** The machine list; with `form`, the register form refused what was typed (shown again, with the problem). */
export function renderMachineList(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession, form?: FormState): FastifyReply {
  const query = parseListQuery(request.query as RawParams);
  const now = nowSeconds(services);
  const rows = selectMachines(services.machines.repository.list(), query).map((machine) => machineRow(machine, now));
  return reply.page(form?.problem.statusCode ?? 200, 'admin/machines', {
    form: formView(form),
    ...common(services, request, reply, session, 'Machines'),
    query,
    rows,
    columns: SORT_KEYS.map((key) => ({ key, title: COLUMN_TITLES[key], href: sortLink(query, key), sorted: query.sort === key ? query.dir : '' })),
    maxLifetimeDays: services.config.machines.maxLifetimeDays,
  });
}

export function renderExpiring(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession): FastifyReply {
  const params = request.query as RawParams;
  const raw = typeof params.days === 'string' && /^[0-9]{1,3}$/.test(params.days) ? Number(params.days) : DEFAULT_EXPIRING_DAYS;
  const now = nowSeconds(services);
  const rows = services.machines.repository
    .list()
    .filter((machine) => machine.expiresAt !== null && machine.expiresAt <= now + raw * DAY)
    .sort((a, b) => (a.expiresAt ?? 0) - (b.expiresAt ?? 0))
    .map((machine) => machineRow(machine, now));
  return reply.page(200, 'admin/expiring', { ...common(services, request, reply, session, 'Expiring soon'), days: raw, rows });
}

export function renderAlerts(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession): FastifyReply {
  const showAll = (request.query as RawParams).all === '1';
  const alerts = services.machines.alerts.list(showAll ? 'all' : 'open').map((alert) => ({ ...alert, firstAt: formatTime(alert.firstAt), lastAt: formatTime(alert.lastAt) }));
  const done = (request.query as RawParams).done;
  return reply.page(200, 'admin/alerts', {
    ...common(services, request, reply, session, 'Alerts'),
    alerts,
    showAll,
    // closing an alert here comes back here (closeAlert reads `back`)
    back: showAll ? 'alerts-all' : 'alerts',
    done: done === 'alert-closed' ? DONE_MESSAGES['alert-closed'] : undefined,
  });
}

function machineView(machine: Machine, now: number) {
  return {
    ...machine,
    setAt: formatTime(machine.setAt),
    expiresAt: formatTime(machine.expiresAt),
    expiresIn: machine.expiresAt === null ? undefined : formatRelative(machine.expiresAt, now),
    createdAt: formatTime(machine.createdAt),
    location: machine.location ?? '',
  };
}

export function renderMachinePage(
  services: WebisoServices,
  entries: PasswordEntriesRepository,
  request: FastifyRequest,
  reply: FastifyReply,
  session: SsoSession,
  machine: Machine,
  form?: FormState,
): FastifyReply {
  const now = nowSeconds(services);
  const { sightings, alerts, repository } = services.machines;
  const period = timelinePeriod(request.query as RawParams);
  const start = now - period.days * DAY;
  const machineAlerts = alerts.forMachine(machine.fqdn);
  const done = (request.query as RawParams).done;
  const enrollment = services.machines.operations.pendingEnrollmentOf(machine.fqdn);
  return reply.page(form?.problem.statusCode ?? 200, 'admin/machine', {
    ...common(services, request, reply, session, machine.fqdn),
    form: formView(form),
    enrollment: enrollment && { ...enrollment, createdAt: formatTime(enrollment.createdAt), expiresAt: formatTime(enrollment.expiresAt) },
    machine: machineView(machine, now),
    events: repository.events(machine.fqdn).map((event) => ({ ...event, at: formatTime(event.at) })),
    addresses: sightings.addresses(machine.fqdn).map((address) => ({ ...address, firstSeen: formatTime(address.firstSeen), lastSeen: formatTime(address.lastSeen) })),
    recent: sightings.recent(machine.fqdn, 50).map((sighting) => ({ ...sighting, at: formatTime(sighting.at) })),
    alerts: machineAlerts.map((alert) => ({ ...alert, firstAt: formatTime(alert.firstAt), lastAt: formatTime(alert.lastAt) })),
    timeline: renderTimeline(consoleQueries(services.db).laneSightings(machine.fqdn, start, timelineSlotSeconds(start, now)), machineAlerts, { start, end: now, grouping: period.by }),
    period,
    periods: TIMELINE_PERIODS,
    mint: mintPermission(services, entries, session, machine.fqdn),
    reauthUrl: adminLoginUrl(`/admin/machines/${machine.fqdn}`),
    maxLifetimeDays: services.config.machines.maxLifetimeDays,
    done: typeof done === 'string' && !form ? DONE_MESSAGES[done] : undefined,
  });
}

/** ?days=1|7|30|90&by=address|network on the machine page; anything else falls back to the defaults. */
function timelinePeriod(params: RawParams): { days: number; by: LaneGrouping } {
  const days = Number(params.days);
  return {
    days: (TIMELINE_PERIODS as readonly number[]).includes(days) ? days : TIMELINE_DAYS,
    by: params.by === 'network' ? 'network' : 'address',
  };
}

export function renderMinted(reply: FastifyReply, fqdn: string, version: number, expiresAt: number): FastifyReply {
  return reply.page(200, 'admin/minted', { title: 'Machine cookie installed', fqdn, version, expiresAt: formatTime(expiresAt) });
}
