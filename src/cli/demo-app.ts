import type { CookieSecret } from '../client/index.ts';

/** What the demo needs to say it started: a pino logger, the primary's or the server's. */
export interface StartLog {
  info(fields: object, message: string): void;
}

export interface DemoStart {
  readonly issuer: string;
  readonly host: string;
  readonly cookieSecret: CookieSecret;
  readonly log: StartLog;
}

function demoPort(): number {
  const value = process.env.WEBISO_DEMO_PORT ?? '8081';
  const port = Number(value);
  // worded as the config loader words WEBISO_PORT
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid environment: WEBISO_DEMO_PORT: must be an integer from 1 to 65535, got "${value}"`);
  return port;
}

/** The demo relying app beside the server (`serve --demo`); returns its closer. */
export async function startDemo({ issuer, host, cookieSecret, log }: DemoStart): Promise<() => Promise<void>> {
  const { buildDemoApp } = await import('../demo/app.ts');
  const port = demoPort();
  const publicUrl = `http://localhost:${port}`;
  const demoApp = buildDemoApp({ issuer, appId: 'demo', publicUrl, cookieSecret });
  await demoApp.listen({ host, port });
  log.info({ event: 'demo.started', url: publicUrl }, `demo app: open ${publicUrl}/ and follow "Log in"`);
  return () => demoApp.close();
}
