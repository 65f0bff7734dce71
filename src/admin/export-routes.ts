import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../errors.ts';
import type { RawParams } from '../login/granting-request.ts';
import { parseFqdn } from '../machines/input.ts';
import { nowSeconds, type WebisoServices } from '../services.ts';
import { adminOf } from './admin-session.ts';
import { consoleQueries } from './console-queries.ts';
import { csvDocument, isoTime } from './csv.ts';
import { historyForExport } from './history.ts';

/** CSV exports of the console: machines, history (with the history page's filters) and presentations. */

const DAY = 86_400;
const MAX_SIGHTING_DAYS = 400;
const SIGHTINGS_LIMIT = 100_000;

export const MACHINE_COLUMNS = ['fqdn', 'location', 'status', 'version', 'set_by', 'set_at', 'expires_at', 'last_seen', 'last_ip', 'open_alerts', 'networks', 'entitlements', 'created_by', 'created_at'] as const;
export const HISTORY_COLUMNS = ['at', 'fqdn', 'action', 'version', 'actor', 'client_ip', 'reason', 'detail'] as const;
export const SIGHTING_COLUMNS = ['at', 'fqdn', 'claimed_fqdn', 'client_ip', 'network', 'app_id', 'version', 'outcome', 'reason', 'user_agent'] as const;

function sendCsv(services: WebisoServices, request: FastifyRequest, reply: FastifyReply, name: string, body: string, rows: number): FastifyReply {
  const date = new Date(nowSeconds(services) * 1000).toISOString().slice(0, 10);
  request.log.info({ event: 'admin.export', export: name, rows, username: adminOf(request).username, clientIp: request.ip }, 'admin.export');
  return reply
    .header('content-disposition', `attachment; filename="webiso-${name}-${date}.csv"`)
    .header('cache-control', 'no-store')
    .type('text/csv; charset=utf-8')
    .send(body);
}

async function machinesCsv(services: WebisoServices): Promise<{ body: string; rows: number }> {
  const machines = await services.machines.repository.list();
  const rows = machines.map((m) => [m.fqdn, m.location, m.status, m.version, m.setBy, isoTime(m.setAt), isoTime(m.expiresAt), isoTime(m.lastSeen), m.lastIp, m.openAlerts, m.networks.join(' '), m.entitlements.join(' '), m.createdBy, isoTime(m.createdAt)]);
  return { body: csvDocument(MACHINE_COLUMNS, rows), rows: rows.length };
}

async function historyCsv(services: WebisoServices, params: RawParams): Promise<{ body: string; rows: number }> {
  const rows = (await historyForExport(services, params)).map((e) => [isoTime(e.at), e.fqdn, e.action, e.version, e.actor, e.clientIp, e.reason, e.detail]);
  return { body: csvDocument(HISTORY_COLUMNS, rows), rows: rows.length };
}

async function sightingsCsv(services: WebisoServices, params: RawParams): Promise<{ body: string; rows: number }> {
  const days = params.days === undefined ? 30 : Number(params.days);
  if (typeof params.days !== 'undefined' && (typeof params.days !== 'string' || !/^[0-9]{1,3}$/.test(params.days) || days < 1 || days > MAX_SIGHTING_DAYS)) {
    throw new InvalidRequestError(`"days" is a whole number from 1 to ${MAX_SIGHTING_DAYS}.`);
  }
  const fqdn = params.fqdn === undefined || params.fqdn === '' ? '' : parseFqdn(params.fqdn);
  const since = nowSeconds(services) - days * DAY;
  const rows = (await consoleQueries(services.store.db).sightings(since, fqdn, SIGHTINGS_LIMIT)).map((s) => [isoTime(s.at), s.fqdn, s.claimedFqdn, s.clientIp, s.network, s.appId, s.version, s.outcome, s.reason, s.userAgent]);
  return { body: csvDocument(SIGHTING_COLUMNS, rows), rows: rows.length };
}

/** Registered inside the admin scope (the admin gate runs first). */
export function registerExportRoutes(scope: FastifyInstance): void {
  const services = scope.webiso;
  scope.get('/admin/export/machines.csv', async (request, reply) => {
    const { body, rows } = await machinesCsv(services);
    return sendCsv(services, request, reply, 'machines', body, rows);
  });
  scope.get('/admin/export/history.csv', async (request, reply) => {
    const { body, rows } = await historyCsv(services, request.query as RawParams);
    return sendCsv(services, request, reply, 'history', body, rows);
  });
  scope.get('/admin/export/sightings.csv', async (request, reply) => {
    const { body, rows } = await sightingsCsv(services, request.query as RawParams);
    return sendCsv(services, request, reply, 'sightings', body, rows);
  });
}
