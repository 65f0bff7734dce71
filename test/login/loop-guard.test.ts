import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { casConfig, casGet, casLogin, loginUrl, SERVICE } from '../support/cas.ts';
import { ALICE_PASSWORD, attemptLogin, auditEvents, createTestApp, fakeClock, grantOf, HTML, loginQuery, testConfig } from '../support/webiso.ts';

describe('redirect-loop breaker', () => {
  it('the 11th silent grant for one session and app within 30 s is a page that explains, then counting starts again', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ config: testConfig(), now: clock.now });
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const ask = () => t.app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: { ...HTML, ...jar.header() } });
      for (let i = 0; i < 10; i++) assert.ok(grantOf((await ask()).body), `answer ${i + 1} is a grant`);
      const stopped = await ask();
      assert.equal(stopped.statusCode, 429);
      assert.match(stopped.body, /id="redirect-loop"/);
      assert.match(stopped.body, /Example App<\/strong> has sent you back to log in 10 times/);
      assert.equal(grantOf(stopped.body), undefined);
      assert.ok((await auditEvents(t.app)).some((row) => row.event === 'login.loop_stopped' && row.app_id === 'app'));
      assert.ok(grantOf((await ask()).body), '"try once more" gets a grant');
      // another app of the same session has its own count
      const other = await t.app.inject({ method: 'GET', url: `/login?${new URLSearchParams({ appid: 'other', return: 'https://other.example.edu/cb', nonce: 'n-2' })}`, headers: { ...HTML, ...jar.header() } });
      assert.ok(grantOf(other.body));
      // a slow app that asks every few seconds is never stopped
      for (let i = 0; i < 30; i++) {
        clock.advance(4);
        assert.ok(grantOf((await ask()).body), `slow answer ${i + 1}`);
      }
    } finally {
      await t.close();
    }
  });

  it('CAS services are guarded the same way; loopGuard.maxAnswers: 0 turns it off', async () => {
    const t = await createTestApp({ config: casConfig({ loopGuard: { maxAnswers: 3, windowSeconds: 60 } }), users: [{ name: 'alice', password: ALICE_PASSWORD }] });
    try {
      const { jar } = await casLogin(t.app, { user: { name: 'alice', password: ALICE_PASSWORD } });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await casGet(t.app, jar, loginUrl(SERVICE))).statusCode);
      assert.deepEqual(statuses, [302, 302, 302, 429, 302], 'the password login does not count; the 4th silent answer is stopped, then counting restarts');
    } finally {
      await t.close();
    }
    const off = await createTestApp({ config: casConfig({ loopGuard: { maxAnswers: 0 } }), users: [{ name: 'alice', password: ALICE_PASSWORD }] });
    try {
      const { jar } = await casLogin(off.app, { user: { name: 'alice', password: ALICE_PASSWORD } });
      for (let i = 0; i < 20; i++) assert.equal((await casGet(off.app, jar, loginUrl(SERVICE))).statusCode, 302);
    } finally {
      await off.close();
    }
  });
});
