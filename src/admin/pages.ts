import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../db/sessions.ts';
import { browserBinding, csrfToken } from '../http/csrf.ts';
import { translatorOf } from '../i18n/request-language.ts';
import type { MessageKey } from '../i18n/messages/index.ts';
import type { Translator } from '../i18n/translate.ts';
import type { RawParams } from '../login/granting-request.ts';
import type { Machine, MachineListEntry } from '../machines/machines-repository.ts';
import type { WebisoServices } from '../services.ts';
import { adminLoginUrl, mintPermission } from './admin-session.ts';
import { formatRelative, formatTime } from '../time-format.ts';
import { formView, type FormState } from './form-state.ts';
import { translateMessage } from './form-messages.ts';
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

/** Messages after a POST-redirect-GET (catalog keys); only these `done` values are ever shown. */
const DONE_MESSAGES: Readonly<Record<string, MessageKey>> = {
  added: 'adm.done.added',
  updated: 'adm.done.updated',
  revoked: 'adm.done.revoked',
  suspended: 'adm.done.suspended',
  reactivated: 'adm.done.reactivated',
  unchanged: 'adm.done.unchanged',
  'alert-closed': 'adm.done.alertClosed',
  'enrollment-cancelled': 'adm.done.enrollmentCancelled',
};

/** The notice for `?done=…` in the page's language, undefined for anything not listed. */
export function doneMessage(messages: Readonly<Record<string, MessageKey>>, done: unknown, tr: Translator): string | undefined {
  const key = typeof done === 'string' && Object.hasOwn(messages, done) ? messages[done] : undefined;
  return key && tr.t(key);
}

/** What every admin page shows at the top: who is logged in, navigation, the logout form. */
export async function common(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession, title: string) {
  const binding = browserBinding(request, reply);
  return {
    title,
    admin: session.username,
    // in the navigation of every admin page
    openAlertCount: await consoleQueries(services.store.db).openAlertCount(),
    csrf: csrfToken(services.formSecret, 'admin', binding),
    logoutCsrf: csrfToken(services.formSecret, 'logout', binding),
  };
}

function machineRow(machine: MachineListEntry, now: number, tr: Translator) {
  return {
    fqdn: machine.fqdn,
    version: machine.version,
    status: machine.status,
    setBy: machine.setBy,
    setAt: formatTime(machine.setAt),
    expiresAt: formatTime(machine.expiresAt),
    expiresIn: machine.expiresAt === null ? '—' : formatRelative(machine.expiresAt, now, tr.lang),
    lastSeen: formatTime(machine.lastSeen),
    lastIp: machine.lastIp ?? '—',
    openAlerts: machine.openAlerts,
    location: machine.location ?? '',
  };
}

/** The machine list; with `form`, the register form refused what was typed (shown again, with the problem). */
export async function renderMachineList(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession, form?: FormState): Promise<FastifyReply> {
  const query = parseListQuery(request.query as RawParams);
  const now = nowSeconds(services);
  const tr = translatorOf(request);
  const rows = selectMachines(await services.machines.repository.list(), query).map((machine) => machineRow(machine, now, tr));
  return reply.page(form?.problem.statusCode ?? 200, 'admin/machines', {
    form: formView(form, tr),
    ...(await common(services, request, reply, session, 'Machines')),
    query,
    rows,
    columns: SORT_KEYS.map((key) => ({ key, title: COLUMN_TITLES[key], href: sortLink(query, key), sorted: query.sort === key ? query.dir : '' })),
    maxLifetimeDays: services.config.machines.maxLifetimeDays,
  });
}

export async function renderExpiring(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession): Promise<FastifyReply> {
  const params = request.query as RawParams;
  const raw = typeof params.days === 'string' && /^[0-9]{1,3}$/.test(params.days) ? Number(params.days) : DEFAULT_EXPIRING_DAYS;
  const now = nowSeconds(services);
  const rows = (await services.machines.repository.list())
    .filter((machine) => machine.expiresAt !== null && machine.expiresAt <= now + raw * DAY)
    .sort((a, b) => (a.expiresAt ?? 0) - (b.expiresAt ?? 0))
    .map((machine) => machineRow(machine, now, translatorOf(request)));
  return reply.page(200, 'admin/expiring', { ...(await common(services, request, reply, session, 'Expiring soon')), days: raw, rows });
}

export async function renderAlerts(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession): Promise<FastifyReply> {
  const showAll = (request.query as RawParams).all === '1';
  const tr = translatorOf(request);
  const alerts = (await services.machines.alerts.list(showAll ? 'all' : 'open')).map((alert) => alertView(alert, tr));
  const done = (request.query as RawParams).done;
  return reply.page(200, 'admin/alerts', {
    ...(await common(services, request, reply, session, 'Alerts')),
    alerts,
    showAll,
    // closing an alert here comes back here (closeAlert reads `back`)
    back: showAll ? 'alerts-all' : 'alerts',
    done: done === 'alert-closed' ? doneMessage(DONE_MESSAGES, done, tr) : undefined,
  });
}

/** An alert for the tables: times formatted, the detail in the page's language. */
function alertView<T extends { firstAt: number; lastAt: number; detail: string }>(alert: T, tr: Translator) {
  return { ...alert, firstAt: formatTime(alert.firstAt), lastAt: formatTime(alert.lastAt), detail: translateMessage(alert.detail, tr) };
}

function machineView(machine: Machine, now: number, tr: Translator) {
  return {
    ...machine,
    setAt: formatTime(machine.setAt),
    expiresAt: formatTime(machine.expiresAt),
    expiresIn: machine.expiresAt === null ? undefined : formatRelative(machine.expiresAt, now, tr.lang),
    createdAt: formatTime(machine.createdAt),
    location: machine.location ?? '',
  };
}

export async function renderMachinePage(
  services: WebisoServices,
  entries: PasswordEntriesRepository,
  request: FastifyRequest,
  reply: FastifyReply,
  session: SsoSession,
  machine: Machine,
  form?: FormState,
): Promise<FastifyReply> {
  const now = nowSeconds(services);
  const { sightings, alerts, repository } = services.machines;
  const period = timelinePeriod(request.query as RawParams);
  const start = now - period.days * DAY;
  const done = (request.query as RawParams).done;
  const tr = translatorOf(request);
  // independent reads, side by side (on PostgreSQL over several connections)
  const [page, machineAlerts, enrollment, events, addresses, recent, lanes, mint] = await Promise.all([
    common(services, request, reply, session, machine.fqdn),
    alerts.forMachine(machine.fqdn),
    services.machines.operations.pendingEnrollmentOf(machine.fqdn),
    repository.events(machine.fqdn),
    sightings.addresses(machine.fqdn),
    sightings.recent(machine.fqdn, 50),
    consoleQueries(services.store.db).laneSightings(machine.fqdn, start, timelineSlotSeconds(start, now)),
    mintPermission(services, entries, session, machine.fqdn),
  ]);
  return reply.page(form?.problem.statusCode ?? 200, 'admin/machine', {
    ...page,
    form: formView(form, tr),
    enrollment: enrollment && { ...enrollment, createdAt: formatTime(enrollment.createdAt), expiresAt: formatTime(enrollment.expiresAt) },
    machine: machineView(machine, now, tr),
    events: events.map((event) => ({ ...event, at: formatTime(event.at) })),
    addresses: addresses.map((address) => ({ ...address, firstSeen: formatTime(address.firstSeen), lastSeen: formatTime(address.lastSeen) })),
    recent: recent.map((sighting) => ({ ...sighting, at: formatTime(sighting.at) })),
    alerts: machineAlerts.map((alert) => alertView(alert, tr)),
    timeline: renderTimeline(lanes, machineAlerts, { start, end: now, grouping: period.by }, tr),
    period,
    periods: TIMELINE_PERIODS,
    mint,
    reauthUrl: adminLoginUrl(`/admin/machines/${machine.fqdn}`),
    maxLifetimeDays: services.config.machines.maxLifetimeDays,
    done: form ? undefined : doneMessage(DONE_MESSAGES, done, tr),
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
