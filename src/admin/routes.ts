import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { refusePasswordInUrl, type RawParams } from '../login/granting-request.ts';
import { adminOf, requireAdmin } from './admin-session.ts';
import { registerEnrollmentRoutes } from './enrollment-routes.ts';
import { registerUserRoutes } from './user-routes.ts';
import { registerAdminLoginRoutes } from './login-routes.ts';
import {
  addMachine,
  closeAlert,
  machineFromParams,
  machinePath,
  mintForThisBrowser,
  orReauth,
  reactivate,
  revoke,
  suspend,
  updateMachine,
  type ActionContext,
} from './machine-actions.ts';
import { registerBulkRoutes } from './bulk.ts';
import { renderDashboard } from './dashboard.ts';
import { registerExportRoutes } from './export-routes.ts';
import { renderHistory } from './history.ts';
import { renderAlerts, renderExpiring, renderMachineList, renderMachinePage } from './pages.ts';
import { createPasswordEntriesRepository, type PasswordEntriesRepository } from './password-entries.ts';

const LIST_PARAMS = ['sort', 'dir', 'q', 'status'];

function registerPages(scope: FastifyInstance, entries: PasswordEntriesRepository): void {
  const services = scope.webiso;
  scope.get('/admin', async (request, reply) => {
    // the machine list lived at /admin: its sorted and filtered links keep working
    const query = request.url.split('?')[1];
    if (query && LIST_PARAMS.some((name) => name in (request.query as RawParams))) return reply.redirect(`/admin/machines?${query}`, 301);
    return renderDashboard(services, request, reply, adminOf(request));
  });
  scope.get('/admin/machines', async (request, reply) => renderMachineList(services, request, reply, adminOf(request)));
  scope.get('/admin/history', async (request, reply) => renderHistory(services, request, reply, adminOf(request)));
  scope.get('/admin/expiring', async (request, reply) => renderExpiring(services, request, reply, adminOf(request)));
  scope.get('/admin/alerts', async (request, reply) => renderAlerts(services, request, reply, adminOf(request)));
  scope.get('/admin/machines/:fqdn', async (request, reply) => renderMachinePage(services, entries, request, reply, adminOf(request), await machineFromParams(services, request)));
}

function registerActions(scope: FastifyInstance, entries: PasswordEntriesRepository): void {
  const services = scope.webiso;
  const ctx = (request: FastifyRequest, reply: FastifyReply): ActionContext => ({ services, entries, request, reply });
  const back = (request: FastifyRequest) => machinePath(String((request.params as { fqdn?: string }).fqdn ?? '').toLowerCase());
  scope.post('/admin/machines', async (request, reply) => orReauth(request, reply, '/admin', () => addMachine(ctx(request, reply))));
  scope.post('/admin/machines/:fqdn/details', async (request, reply) => orReauth(request, reply, back(request), () => updateMachine(ctx(request, reply))));
  scope.post('/admin/machines/:fqdn/mint', async (request, reply) => orReauth(request, reply, back(request), () => mintForThisBrowser(ctx(request, reply))));
  scope.post('/admin/machines/:fqdn/revoke', async (request, reply) => revoke(ctx(request, reply)));
  scope.post('/admin/machines/:fqdn/suspend', async (request, reply) => suspend(ctx(request, reply)));
  scope.post('/admin/machines/:fqdn/reactivate', async (request, reply) => orReauth(request, reply, back(request), () => reactivate(ctx(request, reply))));
  scope.post('/admin/alerts/:id/close', async (request, reply) => closeAlert(ctx(request, reply)));
}

/** /admin: the machines' version table, history, sightings, alerts and enrollment links, for users with the admin role. */
export const adminRoutes = fp(
  async (app: FastifyInstance) => {
    const entries = createPasswordEntriesRepository(app.webiso.store.db);
    app.decorateRequest('adminSession', null);
    registerAdminLoginRoutes(app, entries);
    await app.register(async (scope) => {
      // a password in an admin URL is refused before anything else looks at the request
      scope.addHook('preHandler', async (request) => refusePasswordInUrl(request.query as RawParams));
      scope.addHook('preHandler', async (request, reply) => requireAdmin(scope.webiso, request, reply));
      registerPages(scope, entries);
      registerActions(scope, entries);
      registerEnrollmentRoutes(scope, entries);
      registerUserRoutes(scope);
      registerExportRoutes(scope);
      registerBulkRoutes(scope, entries);
    });
  },
  { name: 'webiso-admin', fastify: '5.x', dependencies: ['webiso-views', 'webiso-errors', 'webiso-kiosk-cookie'] },
);
