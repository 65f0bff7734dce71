import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../db/sessions.ts';
import { InvalidRequestError } from '../errors.ts';
import type { RawParams } from '../login/granting-request.ts';
import { nowSeconds, type WebisoServices } from '../services.ts';
import { formatTime } from '../time-format.ts';
import { consoleQueries, HISTORY_KINDS, type HistoryFilter } from './console-queries.ts';
import { common } from './pages.ts';

/** The history of every machine: mints, revocations, suspensions, enrollments; who, when, from where. */

const DAY = 86_400;
const MAX_TEXT = 100;
export const HISTORY_LIMIT = 500;
const EXPORT_LIMIT = 50_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function text(params: RawParams, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') return '';
  if (typeof value !== 'string') throw new InvalidRequestError(`The parameter "${name}" must appear once.`);
  if (value.length > MAX_TEXT) throw new InvalidRequestError(`The filter "${name}" is at most ${MAX_TEXT} characters.`);
  return value.trim();
}

function day(params: RawParams, name: string): number | undefined {
  const value = text(params, name);
  if (value === '') return undefined;
  const at = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(at)) throw new InvalidRequestError(`The date "${name}" is written YYYY-MM-DD.`);
  return at / 1000;
}

export interface HistoryQuery extends HistoryFilter {
  /** the filter as typed, to show in the form again and to carry into the CSV link */
  readonly typed: Readonly<Record<string, string>>;
}

export function parseHistoryQuery(params: RawParams, now: number, limit = HISTORY_LIMIT): HistoryQuery {
  const kind = text(params, 'kind') || 'all';
  if (!Object.hasOwn(HISTORY_KINDS, kind)) throw new InvalidRequestError(`The kind must be one of: ${Object.keys(HISTORY_KINDS).join(', ')}.`);
  const from = day(params, 'from');
  const to = day(params, 'to');
  const typed = { kind, fqdn: text(params, 'fqdn'), actor: text(params, 'actor'), from: text(params, 'from'), to: text(params, 'to') };
  return { kind, fqdn: typed.fqdn, actor: typed.actor, since: from ?? 0, until: to === undefined ? now : to + DAY - 1, limit, typed };
}

export async function renderHistory(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, session: SsoSession): Promise<FastifyReply> {
  const query = parseHistoryQuery(request.query as RawParams, nowSeconds(services));
  const events = (await consoleQueries(services.store.db).history(query)).map((event) => ({ ...event, at: formatTime(event.at) }));
  const params = new URLSearchParams(Object.entries(query.typed).filter(([, value]) => value !== '' && value !== 'all'));
  return reply.page(200, 'admin/history', {
    ...(await common(services, request, reply, session, 'History')),
    events,
    kinds: Object.keys(HISTORY_KINDS),
    typed: query.typed,
    limited: events.length === HISTORY_LIMIT,
    limit: HISTORY_LIMIT,
    csvHref: `/admin/export/history.csv${params.size > 0 ? `?${params.toString()}` : ''}`,
  });
}

export function historyForExport(services: WebisoServices, params: RawParams) {
  return consoleQueries(services.store.db).history(parseHistoryQuery(params, nowSeconds(services), EXPORT_LIMIT));
}
