import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createOpsAccess } from './access.ts';
import { createReadiness } from './readiness.ts';

/** A client may send any method token; unknown ones share one label value. */
const METHODS = new Set(['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH']);

/**
 * Operations endpoints (docs/operations.md): `/healthz` liveness, `/readyz` readiness, `/metrics`
 * in Prometheus text format, and the response-time histogram every route feeds.
 */
export const opsRoutes = fp(
  async (app: FastifyInstance) => {
    const services = app.webiso;
    const { metrics: metricsConfig } = services.config.ops;
    const allowed = createOpsAccess(metricsConfig);
    const readiness = createReadiness(services);

    // Liveness: the event loop answers. No database or back-end: a restart would not fix those.
    app.get('/healthz', async () => ({ status: 'ok' }));

    // Load balancers need the status code only; the detail (key ids, back-end addresses) is for operators.
    app.get('/readyz', async (request, reply) => {
      const result = await readiness();
      if (!result.ready) request.log.warn({ event: 'ops.not_ready', checks: result.checks }, 'ops.not_ready');
      reply.code(result.ready ? 200 : 503);
      const status = result.ready ? 'ready' : 'not_ready';
      return allowed(request) ? { status, checks: result.checks } : { status };
    });

    if (metricsConfig.enabled) {
      app.get('/metrics', async (request, reply) => {
        if (!allowed(request)) {
          request.log.warn({ event: 'ops.metrics_refused' }, 'ops.metrics_refused');
          return reply.code(403).send({ error: 'forbidden' });
        }
        let text: string;
        try {
          text = await services.metrics.render();
        } catch (error) {
          // --workers N: the primary did not answer (src/ops/cluster-metrics.ts); a failed scrape, not a 500
          request.log.warn({ event: 'ops.metrics_unavailable', err: { message: (error as Error).message } }, 'ops.metrics_unavailable');
          return reply.code(503).header('retry-after', '5').send({ error: 'temporarily_unavailable' });
        }
        return reply.type(services.metrics.contentType).send(text);
      });
    }

    // The route pattern (not the URL) keeps label values bounded; unmatched URLs share one label.
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      services.metrics.httpDuration.observe({ method: METHODS.has(request.method) ? request.method : 'other', route, status: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000);
    });
  },
  { name: 'webiso-ops', fastify: '5.x' },
);
