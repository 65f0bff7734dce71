import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, beforeEach, describe, it } from 'node:test';
import { buildApp } from '../../src/app.ts';
import type { MachineAlert } from '../../src/machines/alerts-repository.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { createMachineTestApp, jarWithMachineCookie, KIOSK, machineConfig, requestLogin, signCookie, sightings, eventsOf, type MachineTestApp } from '../support/machines.ts';
import { fakeClock } from '../support/webiso.ts';

const HOME = '10.1.0.0/16';
const BRANCH = '192.168.50.0/24';
const actor = { name: 'test' };

async function kiosk(t: { app: MachineTestApp['app'] }, networks = [HOME, BRANCH]): Promise<string> {
  await t.app.webiso.machines.operations.add(KIOSK, { networks }, actor);
  return (await t.app.webiso.machines.operations.mint(KIOSK, 30, actor)).cookie;
}

function present(t: { app: MachineTestApp['app'] }, cookie: string, ip: string, headers: Record<string, string> = {}) {
  return requestLogin(t.app, jarWithMachineCookie(cookie), {}, { remoteAddress: ip, headers });
}

const alerts = (t: { app: MachineTestApp['app'] }): Promise<MachineAlert[]> => t.app.webiso.machines.alerts.list('all');
const rules = async (t: { app: MachineTestApp['app'] }) => (await alerts(t)).map((alert) => alert.rule).sort();

/** A deterministic pseudo-random stream (no flaky tests): xorshift. */
function random(seed: number) {
  let state = seed;
  return (max: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return Math.abs(state) % max;
  };
}

describe('anomaly rules on a synthetic stream of sightings', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('DHCP churn inside the registered network raises nothing, and the address summary is one indexed read', async () => {
    const cookie = await kiosk(t);
    const next = random(20261122);
    const addresses = new Set<string>();
    for (let index = 0; index < 300; index += 1) {
      const ip = `10.1.${next(256)}.${1 + next(254)}`;
      addresses.add(ip);
      t.clock.advance(20 + next(600));
      const result = await present(t, cookie, ip);
      assert.equal(result.claims?.kind, 'machine', `sighting ${index} from ${ip}`);
    }
    assert.deepEqual(await alerts(t), [], 'no false positives');
    const summary = await t.app.webiso.machines.sightings.addresses(KIOSK);
    assert.equal(summary.length, addresses.size);
    assert.equal(summary.reduce((sum, row) => sum + row.count, 0), 300);
    assert.ok(summary.every((row) => row.network === HOME));
    // the query plan is SQLite's to show (the same query on PostgreSQL reads the same primary key)
    const sqlite = t.app.webiso.store.sqlite;
    if (sqlite) {
      const plan = sqlite
        .prepare('EXPLAIN QUERY PLAN SELECT client_ip, network, first_seen, last_seen, count, rejected_count FROM machine_ip_summary WHERE fqdn = ? ORDER BY last_seen DESC')
        .all(KIOSK) as Array<{ detail: string }>;
      assert.ok(plan.some((step) => /SEARCH machine_ip_summary USING (INDEX|PRIMARY KEY)/.test(step.detail)), JSON.stringify(plan));
      assert.ok(!plan.some((step) => /^SCAN machine_ip_summary$/.test(step.detail)), 'no full scan');
    }
  });

  it('a sighting from a new network outside the registered ones raises an alert within that request', async () => {
    const cookie = await kiosk(t);
    await present(t, cookie, '10.1.2.3');
    t.clock.advance(3600);
    const result = await present(t, cookie, '203.0.113.9');
    assert.equal(result.claims?.kind, 'machine', 'alerting does not refuse by itself (autoSuspend is off)');
    const [alert] = await alerts(t);
    assert.equal(alert?.rule, 'outside_networks');
    assert.equal(alert?.clientIp, '203.0.113.9');
    assert.equal(alert?.status, 'open');
    assert.equal((await alerts(t)).length, 1, 'an hour later is no teleport');
  });

  it('two networks within a minute raise a teleport alert, even when both are registered', async () => {
    const cookie = await kiosk(t);
    await present(t, cookie, '10.1.2.3');
    t.clock.advance(45);
    await present(t, cookie, '192.168.50.7');
    assert.deepEqual(await rules(t), ['teleport']);
    const [alert] = await alerts(t);
    assert.equal(alert?.previousIp, '10.1.2.3');
    assert.match(alert?.detail ?? '', /10\.1\.0\.0\/16 .*192\.168\.50\.0\/24.* within 45 s/);
  });

  it('a move after the teleport window raises nothing', async () => {
    const cookie = await kiosk(t);
    await present(t, cookie, '10.1.2.3');
    t.clock.advance(t.config.machines.anomaly.teleportWindowSeconds + 1);
    await present(t, cookie, '192.168.50.7');
    assert.deepEqual(await alerts(t), []);
  });

  it('the same cookie used from two networks at once (A, B, A) is a clone', async () => {
    const cookie = await kiosk(t);
    await present(t, cookie, '10.1.2.3');
    t.clock.advance(2000);
    await present(t, cookie, '192.168.50.7');
    assert.deepEqual(await rules(t), [], 'one move well apart is not a clone');
    t.clock.advance(900);
    await present(t, cookie, '10.1.2.3');
    assert.deepEqual(await rules(t), ['clone']);
  });

  it('a repeated anomaly bumps the open alert instead of flooding the table', async () => {
    const cookie = await kiosk(t);
    for (let index = 0; index < 5; index += 1) {
      t.clock.advance(3600);
      await present(t, cookie, '203.0.113.9');
    }
    const all = await alerts(t);
    assert.equal(all.length, 1);
    assert.equal(all[0]?.count, 5);
    await t.app.webiso.machines.operations.closeAlert(all[0]?.id ?? 0, { name: 'root' });
    t.clock.advance(3600);
    await present(t, cookie, '203.0.113.9');
    assert.equal((await alerts(t)).length, 2, 'after closing, a new occurrence opens a new alert');
    assert.ok((await eventsOf(t.app, KIOSK)).some((event) => event.action === 'alert_close' && event.actor === 'root'));
  });

  it('cookies that do not verify never raise alerts about the machine they claim', async () => {
    await kiosk(t);
    const forged = `${(await signCookie(t.app, {})).slice(0, -4)}AAAA`;
    for (const ip of ['203.0.113.1', '198.51.100.1', '10.1.2.3']) {
      await present(t, forged, ip);
      t.clock.advance(5);
    }
    assert.deepEqual(await alerts(t), []);
    assert.ok((await sightings(t.app)).every((row) => row.fqdn === null && row.claimed_fqdn === KIOSK && row.outcome === 'rejected'));
    assert.deepEqual(await t.app.webiso.machines.sightings.addresses(KIOSK), [], 'nor count as addresses the machine claimed');
  });
});

describe('automatic suspension on an alert (machines.anomaly.autoSuspend)', () => {
  it('suspends the machine and refuses the very request that raised the alert', async () => {
    const t = await createMachineTestApp({ config: machineConfig({}, { anomaly: { autoSuspend: true } }) });
    try {
      const cookie = await kiosk(t);
      assert.equal((await present(t, cookie, '10.1.2.3')).claims?.kind, 'machine');
      t.clock.advance(60);
      const stolen = await present(t, cookie, '198.51.100.20');
      assert.ok(stolen.prompted, 'the alerting presentation gets no machine identity');
      assert.equal((await sightings(t.app)).at(-1)?.reason, 'auto_suspended');
      assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.status, 'suspended');
      assert.ok((await alerts(t)).every((alert) => alert.suspended));
      assert.deepEqual((await eventsOf(t.app, KIOSK)).at(-1)?.action, 'auto_suspend');
      assert.equal((await eventsOf(t.app, KIOSK)).at(-1)?.actor, 'system:anomaly');
      t.clock.advance(60);
      assert.ok((await present(t, cookie, '10.1.2.3')).prompted, 'the real kiosk too, until an admin looks');
      assert.equal((await sightings(t.app)).at(-1)?.reason, 'suspended');
    } finally {
      await t.close();
    }
  });

  it('a forged cookie cannot get a machine suspended', async () => {
    const t = await createMachineTestApp({ config: machineConfig({}, { anomaly: { autoSuspend: true } }) });
    try {
      await kiosk(t);
      await present(t, 'eyJhbGciOiJFZERTQSJ9.e30.AAAA', '198.51.100.20');
      await present(t, `${(await signCookie(t.app, {})).slice(0, -4)}AAAA`, '198.51.100.20');
      assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.status, 'active');
    } finally {
      await t.close();
    }
  });
});

describe('client addresses: forwarded headers only from trusted proxies', () => {
  it('ignores a forged X-Forwarded-For from a client that is not a configured proxy', async () => {
    const t = await createMachineTestApp({ config: machineConfig({ trustedProxies: ['10.9.9.9'] }) });
    try {
      const cookie = await kiosk(t);
      await present(t, cookie, '203.0.113.66', { 'x-forwarded-for': '10.1.2.3' });
      assert.equal((await sightings(t.app)).at(-1)?.client_ip, '203.0.113.66', 'the socket address, not the header');
      assert.deepEqual(await rules(t), ['outside_networks'], 'hiding behind a home address does not work');
      await present(t, cookie, '10.1.4.4', { 'x-forwarded-for': '198.51.100.1' });
      assert.equal((await sightings(t.app)).at(-1)?.client_ip, '10.1.4.4');
    } finally {
      await t.close();
    }
  });

  it('uses X-Forwarded-For when the request comes from a configured proxy', async () => {
    const t = await createMachineTestApp({ config: machineConfig({ trustedProxies: ['10.9.9.9'] }) });
    try {
      const cookie = await kiosk(t);
      await present(t, cookie, '10.9.9.9', { 'x-forwarded-for': '10.1.7.7' });
      assert.equal((await sightings(t.app)).at(-1)?.client_ip, '10.1.7.7');
      assert.deepEqual(await alerts(t), []);
    } finally {
      await t.close();
    }
  });
});

describe('alerts in the log', () => {
  it('writes a machine.alert event, and never the cookie or its jti', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const clock = fakeClock();
    const config = machineConfig({ logLevel: 'info' });
    const app = await buildApp(config, { logStream: stream, now: clock.now });
    try {
      await app.webiso.users.add('root', await hashPassword('admin correct horse battery'), ['admin'], new Date());
      const minted = await (async () => {
        await app.webiso.machines.operations.add(KIOSK, { networks: [HOME] }, actor);
        return app.webiso.machines.operations.mint(KIOSK, 30, actor);
      })();
      await present({ app }, minted.cookie, '10.1.2.3');
      clock.advance(30);
      await present({ app }, minted.cookie, '203.0.113.9');
      const events = lines.map((line) => JSON.parse(line) as { event?: string; rule?: string; fqdn?: string; clientIp?: string });
      const alert = events.find((event) => event.event === 'machine.alert' && event.rule === 'outside_networks');
      assert.ok(alert, 'a machine.alert log line');
      assert.equal(alert.fqdn, KIOSK);
      assert.equal(alert.clientIp, '203.0.113.9');
      assert.ok(events.some((event) => event.event === 'machine.accepted'));
      const all = lines.join('\n');
      assert.ok(!all.includes(minted.cookie.split('.')[2] ?? 'x'), 'no cookie signature in the log');
      assert.ok(!all.includes(minted.claims.jti), 'no jti in the log');
    } finally {
      await app.close();
    }
  });
});
