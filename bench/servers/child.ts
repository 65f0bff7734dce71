import { createServer } from 'node:net';

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
