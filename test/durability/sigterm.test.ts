import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FetchBrowser, formField, openServedStore, requestLines, startServedWebiso, waitFor, writeServedConfig } from '../support/served-webiso.ts';

const PASSWORD = 'a graceful passphrase';
const RETURN = 'http://127.0.0.1:9/cb';
const LOGINS = 40;

describe('durability: SIGTERM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-sigterm-'));
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops accepting, lets in-flight logins finish, flushes, closes the database and exits 0', async () => {
    const users = Array.from({ length: LOGINS }, (_, i) => `user${i}`);
    // 4 hashes at a time whatever the cores, so the 40 logins take ten rounds on any machine
    const configPath = await writeServedConfig(dir, ['verifier: { kind: local, maxConcurrentHashes: 4 }', 'apps:', `  - { id: app, name: App, returnUrls: ['${RETURN}'] }`], users, PASSWORD);
    const server = await startServedWebiso(configPath);
    child = server.child;
    const loginPath = `/login?${new URLSearchParams({ appid: 'app', return: RETURN, nonce: 'n-term' })}`;
    // forms first, so that the password posts are what is in flight when the signal arrives
    const browsers = await Promise.all(users.map(async (user) => {
      const browser = new FetchBrowser(server.url);
      const form = await browser.get(loginPath);
      return { browser, user, fields: { ctx: formField(form.body, 'ctx'), csrf: formField(form.body, 'csrf') } };
    }));
    // argon2 runs at most 4 at a time: most of these are still queued when SIGTERM lands
    const inFlight = browsers.map(({ browser, user, fields }) => browser.post('/login', { ...fields, username: user, password: PASSWORD }));
    // the signal comes once the server has read every post (its "incoming request" lines: a request
    // still in the socket buffer is on an idle connection, which closing resets) and the first login
    // has completed: 40 hashes 4 at a time take ten rounds, so most are still queued or hashing
    await waitFor(server.output, (lines) => (requestLines(lines, 'POST', '/login').length >= LOGINS ? true : undefined), `${LOGINS} posts read`, 20_000);
    await Promise.race(inFlight);
    const exited = once(server.child, 'exit');
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const answers = await Promise.all(inFlight.map(async (answer) => ({ ...(await answer), at: Date.now() })));
    // a post the server had not yet read when the signal came is refused with a 503, never cut off
    assert.deepEqual(answers.filter((answer) => answer.status !== 200 && answer.status !== 503).map((answer) => answer.status), []);
    const completed = answers.filter((answer) => answer.status === 200);
    assert.ok(completed.every((answer) => answer.body.includes('name="grant"')), 'every accepted login got its grant');
    assert.ok(completed.filter((answer) => answer.at > signalledAt).length >= 20, 'logins still in flight at the signal completed after it');
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(fetch(`${server.url}/healthz`), 'no new connection is accepted once stopping');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    assert.match(server.output(), /"event":"server.stopping","signal":"SIGTERM"/);
    assert.match(server.output(), /"event":"server.stopped"/);

    const store = await openServedStore(configPath);
    try {
      const count = async (table: 'auth_events' | 'sessions') => {
        let query = store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
        if (table === 'auth_events') query = query.where('event', '=', 'login.success');
        return Number((await query.executeTakeFirstOrThrow()).n);
      };
      assert.equal(await count('auth_events'), completed.length, 'every row flushed before the database closed');
      assert.equal(await count('sessions'), completed.length);
      if (store.sqlite) assert.equal(store.sqlite.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      await store.close();
    }
  });
});
