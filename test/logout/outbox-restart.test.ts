import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { startLogoutReceiver } from '../support/logout-receiver.ts';
import { freeTcpPort } from '../support/process.ts';
import { openServedStore, startServedWebiso, writeServedConfig } from '../support/served-webiso.ts';

const PASSWORD = 'a restart-proof passphrase';

/** Accepts connections and never answers: a delivery is in flight, uncommitted, when the server dies. */
async function blackHole(port: number): Promise<{ close(): Promise<void>; connections: () => number }> {
  const sockets = new Set<Socket>();
  let seen = 0;
  const server: Server = createServer((socket) => {
    seen += 1;
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    connections: () => seen,
    close: () => new Promise<void>((resolve) => {
      sockets.forEach((socket) => socket.destroy());
      server.close(() => resolve());
    }),
  };
}

/** A browser's login and logout over real HTTP, cookies carried by hand. */
async function loginThenLogout(url: string): Promise<void> {
  const cookies = new Map<string, string>();
  const jar = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  const keep = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, ...value] = pair!.split('=');
      cookies.set(name!, value.join('='));
    }
  };
  const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]?.replace(/&amp;/g, '&') ?? '';
  const form = await fetch(`${url}/login?${new URLSearchParams({ appid: 'app', return: 'http://127.0.0.1:9/cb', nonce: 'n-restart' })}`, { headers: { accept: 'text/html' } });
  keep(form);
  const formHtml = await form.text();
  const login = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { accept: 'text/html', cookie: jar(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ctx: field(formHtml, 'ctx'), csrf: field(formHtml, 'csrf'), username: 'alice', password: PASSWORD }),
  });
  keep(login);
  assert.match(await login.text(), /name="grant"/);
  const confirm = await fetch(`${url}/logout`, { headers: { accept: 'text/html', cookie: jar() } });
  const logout = await fetch(`${url}/logout`, { method: 'POST', headers: { accept: 'text/html', cookie: jar(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf: field(await confirm.text(), 'csrf') }) });
  assert.equal(logout.status, 200);
  await logout.text();
}

describe('the logout outbox survives a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-outbox-'));
  const children: ChildProcess[] = [];
  after(() => {
    children.forEach((child) => child.kill('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a server killed with SIGKILL between commit and delivery delivers the logout after restart', async () => {
    const appPort = await freeTcpPort();
    const configPath = await writeServedConfig(
      dir,
      [
        'logout: { sweepSeconds: 1, deliveryTimeoutSeconds: 2 }',
        'apps:',
        `  - { id: app, name: App, returnUrls: ['http://127.0.0.1:9/cb'], logout: { backchannelUrl: 'http://127.0.0.1:${appPort}/backchannel' } }`,
      ],
      ['alice'],
      PASSWORD,
    );

    const hole = await blackHole(appPort);
    const first = await startServedWebiso(configPath);
    children.push(first.child);
    await loginThenLogout(first.url);
    const deadline = Date.now() + 5000;
    while (hole.connections() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(hole.connections(), 1, 'the delivery was under way');
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    await hole.close();

    const check = await openServedStore(configPath);
    const pending = await check.db.selectFrom('logout_deliveries').select(['status', 'attempts']).execute();
    await check.close();
    assert.deepEqual(pending, [{ status: 'pending', attempts: 0 }], 'committed with the logout, not yet delivered');

    const receiver = await startLogoutReceiver(appPort);
    try {
      const second = await startServedWebiso(configPath);
      children.push(second.child);
      const [delivery] = await receiver.waitFor(1, 15_000);
      assert.equal(decodeJwt(delivery!.fields.logout_token!).sub, 'alice');
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    } finally {
      await receiver.close();
    }
  });
});
