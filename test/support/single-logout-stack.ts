/**
 * The single-logout browser stack: webiso (with an injectable clock), the demo app with its
 * back-channel logout route, and Apache mod_auth_cas with `CASSSOEnabled On`, all on loopback.
 *
 * Hosts: webiso is `localhost`, the demo and Apache are `127.0.0.1` (another cookie host, as an
 * app on its own server would be). webiso's logout page sends `Clear-Site-Data: "cookies"`, which
 * Chromium applies to every port of webiso's host: with the demo on `localhost` too, its cookie
 * would vanish and the test could not tell a working back channel from a cleared cookie.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { buildDemoApp } from '../../src/demo/app.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { startApacheCas, type ApacheCas } from './apache-cas.ts';
import { freePort } from './browser.ts';
import { reserveWebiso } from './cas-webiso.ts';
import { testStoreConfig } from './test-store.ts';

/** Real time plus an offset that only moves forward: grants stay fresh for the app's real checks. */
export interface OffsetClock {
  now(): number;
  advance(seconds: number): void;
}

export function offsetClock(): OffsetClock {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advance(seconds) {
      offsetMs += seconds * 1000;
    },
  };
}

/** SSO session rows in webiso's store, all or one account's. */
export async function countSessions(webiso: FastifyInstance, username?: string): Promise<number> {
  const row = await webiso.webiso.store.db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .$if(username !== undefined, (query) => query.where('username', '=', username!))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface DeliveryRow {
  readonly app_id: string;
  readonly channel: string;
  readonly status: string;
  readonly reason: string;
  readonly attempts: number;
  readonly last_error: string | null;
}

export interface SingleLogoutStack {
  readonly webiso: FastifyInstance;
  readonly demo: FastifyInstance;
  readonly apache: ApacheCas;
  readonly webisoUrl: string;
  readonly demoUrl: string;
  /** the CAS-protected location (p3 virtual host): `http://127.0.0.1:PORT/secure/` */
  readonly apacheSecure: string;
  readonly clock: OffsetClock;
  deliveries(): Promise<DeliveryRow[]>;
  /** Polls the outbox until `count` rows are delivered; a failed or stuck row fails with the rows. */
  waitForDeliveries(count: number, timeoutMs?: number): Promise<DeliveryRow[]>;
  close(): Promise<void>;
}

export interface SingleLogoutStackOptions {
  readonly users: ReadonlyArray<{ name: string; password: string }>;
  /** a demo app session that outlives webiso's idle limit, so only single logout can end it */
  readonly demoSessionIdleSeconds?: number;
}

export async function startSingleLogoutStack({ users, demoSessionIdleSeconds }: SingleLogoutStackOptions): Promise<SingleLogoutStack> {
  const address = await reserveWebiso();
  const demoUrl = `http://127.0.0.1:${await freePort()}`;
  const apache = await startApacheCas({ loginUrl: `${address.casLoginBase}/login`, casBase: address.casBackChannel, singleSignOut: true });
  const apacheSecure = `${apache.urls.p3}/secure/`;
  const clock = offsetClock();
  const dataDir = mkdtempSync(join(tmpdir(), 'webiso-slo-'));
  let webiso: FastifyInstance | undefined;
  let demo: FastifyInstance | undefined;
  const close = async () => {
    await demo?.close();
    await webiso?.close();
    await apache.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const config = parseConfig({
      issuer: address.webisoUrl,
      dataDir,
      logLevel: 'silent',
      store: testStoreConfig(dataDir),
      apps: [
        { id: 'demo', name: 'webiso demo app', returnUrls: [`${demoUrl}/webiso/callback`], flavors: ['basic', 'machineoruser'], logout: { backchannelUrl: `${demoUrl}/webiso/backchannel-logout` } },
        { id: 'apache', name: 'Apache test site', returnUrls: [], flavors: ['basic'], cas: { services: [apacheSecure], flavor: 'basic', singleLogout: true } },
      ],
      // retries and the expiry sweep every second
      logout: { sweepSeconds: 1, deliveryTimeoutSeconds: 2 },
    });
    webiso = await buildApp(config, { logger: false, now: clock.now });
    for (const user of users) await webiso.webiso.users.add(user.name, await hashPassword(user.password), [], new Date());
    await webiso.listen({ host: '127.0.0.1', port: address.port });
    demo = buildDemoApp({
      issuer: address.webisoUrl,
      appId: 'demo',
      publicUrl: demoUrl,
      cookieSecret: randomBytes(32),
      // the demo shares webiso's clock: logout tokens minted after clock.advance() are not "from the future"
      auth: { now: clock.now, ...(demoSessionIdleSeconds !== undefined ? { sessionIdleSeconds: demoSessionIdleSeconds } : {}) },
    });
    await demo.listen({ host: '127.0.0.1', port: Number(new URL(demoUrl).port) });
  } catch (error) {
    await close();
    throw error;
  }
  const db = webiso.webiso.store.db;
  const deliveries = (): Promise<DeliveryRow[]> => db.selectFrom('logout_deliveries').select(['app_id', 'channel', 'status', 'reason', 'attempts', 'last_error']).orderBy('id').execute();
  return {
    webiso,
    demo,
    apache,
    webisoUrl: address.webisoUrl,
    demoUrl,
    apacheSecure,
    clock,
    deliveries,
    async waitForDeliveries(count, timeoutMs = 8000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await deliveries();
        if (rows.filter((row) => row.status === 'delivered').length >= count) return rows;
        if (rows.some((row) => row.status !== 'delivered' && row.attempts > 0) || Date.now() > deadline) {
          throw new Error(`expected ${count} delivered logout deliveries, got ${JSON.stringify(rows)}\napache error log:\n${await apache.readErrorLog()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close,
  };
}
