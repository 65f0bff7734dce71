import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedLogout {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly fields: Record<string, string>;
}

/** A relying app's logout endpoint on loopback: records every POST; can answer an error or be switched off. */
export interface LogoutReceiver {
  readonly url: string;
  readonly received: ReceivedLogout[];
  /** the status it answers (200 by default) */
  status: number;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedLogout[]>;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body)).on('error', reject);
  });
}

export async function startLogoutReceiver(port = 0): Promise<LogoutReceiver> {
  const received: ReceivedLogout[] = [];
  const receiver = { status: 200 } as { status: number };
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request);
    received.push({ path: request.url ?? '', contentType: request.headers['content-type'], fields: Object.fromEntries(new URLSearchParams(body)) });
    response.writeHead(receiver.status, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${bound}`,
    received,
    async waitFor(count: number, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} logout deliveries, got ${received.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
