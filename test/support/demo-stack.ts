import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { buildDemoApp, type DemoAppOptions } from '../../src/demo/app.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { freePort } from './browser.ts';
import { testStoreConfig } from './test-store.ts';

export interface DemoStack {
  readonly webiso: FastifyInstance;
  readonly demo: FastifyInstance;
  readonly webisoUrl: string;
  readonly demoUrl: string;
  close(): Promise<void>;
}

/**
 * webiso and the demo relying app listening on loopback, as `npm start` runs them, on `localhost`
 * (a secure context for Chromium, so `__Host-` cookies work over http).
 */
export interface DemoStackOptions {
  readonly users?: Array<{ name: string; password: string; roles?: string[] }>;
  /** config entries replacing the defaults; a function receives the two base URLs */
  readonly configOverrides?: Record<string, unknown> | ((urls: { webisoUrl: string; demoUrl: string }) => Record<string, unknown>);
  readonly demoOptions?: Partial<DemoAppOptions>;
}

export async function startDemoStack({ users = [], configOverrides = {}, demoOptions = {} }: DemoStackOptions = {}): Promise<DemoStack> {
  const [webisoPort, demoPort] = [await freePort(), await freePort()];
  const webisoUrl = `http://localhost:${webisoPort}`;
  const demoUrl = `http://localhost:${demoPort}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'webiso-browser-'));
  const config = parseConfig({
    issuer: webisoUrl,
    dataDir,
    logLevel: 'silent',
    store: testStoreConfig(dataDir),
    apps: [{ id: 'demo', name: 'webiso demo app', returnUrls: [`${demoUrl}/`], flavors: ['basic'], logout: { backchannelUrl: `${demoUrl}/webiso/backchannel-logout` } }],
    ...(typeof configOverrides === 'function' ? configOverrides({ webisoUrl, demoUrl }) : configOverrides),
  });
  const webiso = await buildApp(config, { logger: false });
  for (const user of users) await webiso.webiso.users.add(user.name, await hashPassword(user.password), user.roles ?? [], new Date());
  await webiso.listen({ host: '127.0.0.1', port: webisoPort });
  const demo = buildDemoApp({ issuer: webisoUrl, appId: 'demo', publicUrl: demoUrl, cookieSecret: randomBytes(32), ...demoOptions });
  await demo.listen({ host: '127.0.0.1', port: demoPort });
  return {
    webiso,
    demo,
    webisoUrl,
    demoUrl,
    async close() {
      await demo.close();
      await webiso.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
