import { loadConfig } from '../config/load.ts';
import { getOrCreateSecret } from '../db/secrets.ts';
import { startServer } from '../server.ts';

export interface ServeOptions {
  readonly demo: boolean;
}

function demoPort(): number {
  const value = process.env.WEBISO_DEMO_PORT ?? '8081';
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`WEBISO_DEMO_PORT: must be an integer from 1 to 65535, got "${value}"`);
  return port;
}

/** `webiso serve`: the login server, and with --demo the demo relying app beside it. */
export async function serve({ demo }: ServeOptions): Promise<void> {
  const { config, path } = loadConfig();
  const server = await startServer(config);
  const closers: Array<() => Promise<void>> = [() => server.close()];
  const lines = [`webiso is listening on ${server.url} (issuer ${config.issuer}, config ${path}, data ${config.dataDir})`];

  if (demo) {
    const { buildDemoApp } = await import('../demo/app.ts');
    const port = demoPort();
    const publicUrl = `http://localhost:${port}`;
    const demoApp = await buildDemoApp({ issuer: config.issuer, appId: 'demo', publicUrl, cookieSecret: getOrCreateSecret(server.app.webiso.db, 'demo-app-cookie') });
    await demoApp.listen({ host: config.listen.host, port });
    closers.unshift(() => demoApp.close());
    lines.push(`demo app: open ${publicUrl}/ and follow "Log in"`);
  }
  if (server.app.webiso.users.list().length === 0) {
    lines.push('no accounts yet: create one with  npm run webiso -- user add alice --role admin  (it asks for the password)');
  }
  for (const line of lines) console.log(line);

  const shutdown = async () => {
    for (const close of closers) await close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
