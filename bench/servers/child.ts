import cluster from 'node:cluster';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Both servers listen on loopback only: the benchmark must not depend on the network. */
export const HOST = '127.0.0.1';

/** A free loopback port, found before the app is built because webiso's issuer URL contains it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Tells the harness the server is ready (one JSON line on stdout), then shuts down cleanly on
 * SIGTERM/SIGINT or when the harness's end of stdin closes, so a crashed harness leaves no server
 * behind. A clean exit also lets `--cpu-prof` write its profile.
 */
export function announceAndServe(info: Record<string, unknown>, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdin.on('end', shutdown).on('error', shutdown).resume();
  process.stdout.write(`${JSON.stringify(info)}\n`);
}

/**
 * A baseline server (bare-server.ts, signing-server.ts) in BENCH_WORKERS processes on one port
 * (default 1): with more, node:cluster forks that many copies of the calling script, as
 * `webiso serve --workers N` does with webiso, and this process only hands out connections.
 */
export async function serveBaseline(build: () => FastifyInstance, extra: Record<string, unknown> = {}): Promise<void> {
  const workers = Number(process.env.BENCH_WORKERS ?? '1');
  if (cluster.isWorker) {
    const app = build();
    await app.listen({ host: HOST, port: Number(process.env.BENCH_PORT) });
    process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
    process.send?.('ready');
    return;
  }
  const port = await freePort();
  if (workers === 1) {
    const app = build();
    const url = await app.listen({ host: HOST, port });
    return announceAndServe({ url, ...extra }, () => app.close());
  }
  const forked = Array.from({ length: workers }, () => cluster.fork({ BENCH_PORT: String(port) }));
  await Promise.all(forked.map((worker) => once(worker, 'message')));
  announceAndServe({ url: `http://${HOST}:${port}`, workers, ...extra }, async () => {
    const exits = forked.filter((worker) => !worker.isDead()).map((worker) => once(worker, 'exit'));
    for (const worker of forked) worker.process.kill('SIGTERM');
    await Promise.all(exits);
  });
}
