import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { WebisoConfig } from './config/schema.ts';
import { ConfigError } from './config/load.ts';
import { FLAVORS } from './flavors/index.ts';
import { adminRoutes } from './admin/routes.ts';
import { casRoutes } from './cas/routes.ts';
import { oidcRoutes } from './oidc/routes.ts';
import { logoutSweep } from './logout/sweep.ts';
import { errorHandler } from './http/error-handler.ts';
import { publicRoutes } from './http/public-routes.ts';
import { securityHeaders } from './http/security-headers.ts';
import { views } from './http/views.ts';
import { loggerOptions } from './logger.ts';
import { loginRoutes } from './login/routes.ts';
import { logoutRoutes } from './login/logout-routes.ts';
import { kioskCookie } from './machines/kiosk.ts';
import { machineRoutes } from './machines/routes.ts';
import { opsRoutes } from './ops/routes.ts';
import { httpsOption } from './ops/tls.ts';
import { createServices, type ServiceOverrides, type WebisoServices } from './services.ts';

export interface BuildAppOptions extends ServiceOverrides {
  /** pino options are built from config.logLevel; false silences logging (tests) */
  readonly logger?: boolean;
  /** a logger stream to capture log lines (tests of redaction) */
  readonly logStream?: NodeJS.WritableStream;
}

/** An app that asks for a flavor this build does not implement is a start-up error, not a runtime 400. */
function checkFlavorsImplemented(config: WebisoConfig): void {
  config.apps.forEach((app, index) => {
    const missing = app.flavors.filter((flavor) => !FLAVORS.has(flavor));
    if (missing.length > 0) throw new ConfigError(`invalid configuration: apps[${index}].flavors: not implemented by this server: ${missing.join(', ')}`);
  });
}

function trustProxy(config: WebisoConfig): string[] | false {
  return config.trustedProxies.length > 0 ? config.trustedProxies : false;
}

/** Builds the webiso Fastify app without listening: server.ts listens, tests use app.inject. */
export async function buildApp(config: WebisoConfig, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  checkFlavorsImplemented(config);
  const services: WebisoServices = await createServices(config, options);
  try {
    return await assembleApp(config, options, services);
  } catch (error) {
    // a start-up error (an unreadable TLS or token file) must not leave a pool holding the process open
    services.keystore.close();
    if (!options.store) await services.store.close();
    throw error;
  }
}

async function assembleApp(config: WebisoConfig, options: BuildAppOptions, services: WebisoServices): Promise<FastifyInstance> {
  const logger = options.logger === false ? false : { ...loggerOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) };
  const app = Fastify({
    // tls.certFile/keyFile: webiso serves HTTPS itself (src/ops/tls.ts)
    ...httpsOption(config),
    logger,
    trustProxy: trustProxy(config),
    bodyLimit: 64 * 1024,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // HEAD would run the granting handler (sign a grant, write audit rows) only to drop the body.
    exposeHeadRoutes: false,
    // maxParamLength: machine names (FQDNs) in admin URLs are up to 253 characters
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 300 },
    // A malformed URL (`/%ZZ`) gets our error page and headers, not Fastify's default that echoes it.
    // Plugins' decorators and hooks do not run at this stage, so the answer is self-contained.
    frameworkErrors: (_error, _request, reply: FastifyReply) => {
      reply
        .code(400)
        .headers({ 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" })
        .send(JSON.stringify({ error: 'invalid_request', error_description: 'The address could not be understood.' }));
    },
  });
  app.decorate('webiso', services);
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(securityHeaders, { hsts: config.issuer.startsWith('https://') || config.tls !== undefined });
  await app.register(views);
  await app.register(errorHandler);
  // A success is acknowledged only after its audit rows are committed (docs/performance.md, durability).
  app.addHook('onSend', async (_request, _reply, payload) => {
    await services.audit.committed();
    return payload;
  });
  await app.register(opsRoutes);
  // before every route: checks the browser's machine cookie once (kiosk policy, machineoruser)
  await app.register(kioskCookie);
  await app.register(publicRoutes);
  await app.register(loginRoutes);
  await app.register(logoutRoutes);
  await app.register(casRoutes);
  await app.register(oidcRoutes);
  await app.register(logoutSweep);
  await app.register(machineRoutes);
  await app.register(adminRoutes);
  app.addHook('onClose', async () => {
    await services.verifier.close?.();
    // logout attempts in flight write their outcome before the database closes
    await services.logoutDeliverer.drain();
    await services.audit.flush();
    if (!options.store) await services.store.close();
  });
  return app;
}
