// One machine used at the same instant on two hosts sharing one PostgreSQL schema (in the SQLite
// pass: by many requests of one process). The read-then-write parts of a presentation (the
// open alert, the address summary, the hourly rollup, the anomaly rules, auto-suspension) must
// neither lose a count nor open an alert twice; an enrollment link is redeemed once, and links
// issued at once replace each other instead of tripping the one-open-link index.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { EnrollmentInvalidError } from '../../src/machines/errors.ts';
import { jarWithMachineCookie, KIOSK, machineConfig, requestLogin } from '../support/machines.ts';

const HOME = '10.1.0.0/16';
const OUTSIDE = '203.0.113.9';
const PRESENTATIONS = 40;
const actor = { name: 'test' };

/**
 * Two hosts on one store. On SQLite, one app stands for both: hosts sharing an SQLite file are
 * separate processes, and two connections in one process would block each other's event loop in
 * SQLite's busy wait; the IMMEDIATE transactions of one process are what this engine relies on.
 */
async function twoHosts(machines: Record<string, unknown> = {}): Promise<{ a: FastifyInstance; b: FastifyInstance; close(): Promise<void> }> {
  // one cookie answered 40 times at once is what the login-loop breaker exists to stop: off here
  const config = machineConfig({ loopGuard: { maxAnswers: 0 } }, machines);
  const a = await buildApp(config, { logger: false });
  const b = a.webiso.store.kind === 'postgres' ? await buildApp(config, { logger: false }) : a;
  return {
    a,
    b,
    async close() {
      await a.close();
      if (b !== a) await b.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** The same cookie presented PRESENTATIONS times at once from one address, alternately to each host. */
async function presentAtOnce(hosts: { a: FastifyInstance; b: FastifyInstance }, cookie: string, ip: string) {
  return Promise.all(Array.from({ length: PRESENTATIONS }, (_, i) => requestLogin(i % 2 === 0 ? hosts.a : hosts.b, jarWithMachineCookie(cookie), {}, { remoteAddress: ip })));
}

describe('one machine presented on two hosts at the same instant', () => {
  it('opens one alert and counts every occurrence, and loses no count in the address summary or the hourly rollup', async () => {
    const hosts = await twoHosts();
    try {
      await hosts.a.webiso.machines.operations.add(KIOSK, { networks: [HOME] }, actor);
      const { cookie } = await hosts.a.webiso.machines.operations.mint(KIOSK, 30, actor);
      const results = await presentAtOnce(hosts, cookie, OUTSIDE);
      assert.ok(results.every((result) => result.claims?.kind === 'machine'), 'an alert alone refuses nothing (autoSuspend is off)');

      const alerts = await hosts.b.webiso.machines.alerts.list('all');
      assert.deepEqual(
        alerts.map((alert) => [alert.rule, alert.clientIp, alert.status, alert.count]),
        [['outside_networks', OUTSIDE, 'open', PRESENTATIONS]],
        'one open alert per machine, rule and address, bumped by every presentation',
      );
      const [summary] = await hosts.a.webiso.machines.sightings.addresses(KIOSK);
      assert.equal(summary?.count, PRESENTATIONS, 'the address summary counted each one');
      const hours = await hosts.a.webiso.store.db.selectFrom('machine_sighting_hours').select(['count']).where('name', '=', KIOSK).execute();
      assert.deepEqual(
        hours.map((hour) => hour.count),
        [PRESENTATIONS],
        'so did the hourly rollup',
      );
    } finally {
      await hosts.close();
    }
  });

  it('from two networks at once, each presentation sees the one before it: every switch of network is a teleport', async () => {
    const hosts = await twoHosts();
    try {
      await hosts.a.webiso.machines.operations.add(KIOSK, { networks: [HOME, '192.168.50.0/24'] }, actor);
      const { cookie } = await hosts.a.webiso.machines.operations.mint(KIOSK, 30, actor);
      await Promise.all(
        Array.from({ length: PRESENTATIONS }, (_, i) => requestLogin(i % 2 === 0 ? hosts.a : hosts.b, jarWithMachineCookie(cookie), {}, { remoteAddress: i % 4 < 2 ? '10.1.2.3' : '192.168.50.7' })),
      );
      // the machine's row lock orders the presentations: ids follow it, and each one's rules saw all before it
      const rows = await hosts.a.webiso.store.db.selectFrom('machine_sightings').select(['network', 'outcome']).where('fqdn', '=', KIOSK).orderBy('id').execute();
      assert.equal(rows.filter((row) => row.outcome === 'accepted').length, PRESENTATIONS);
      const switches = rows.filter((row, i) => i > 0 && row.network !== rows[i - 1]!.network).length;
      assert.ok(switches > 0, 'the two networks interleaved');
      const teleports = (await hosts.b.webiso.machines.alerts.list('all')).filter((alert) => alert.rule === 'teleport');
      assert.equal(teleports.reduce((sum, alert) => sum + alert.count, 0), switches, 'one teleport occurrence per switch, none missed');
    } finally {
      await hosts.close();
    }
  });

  it('with autoSuspend, suspends the machine once and refuses every presentation after the one that did', async () => {
    const hosts = await twoHosts({ anomaly: { autoSuspend: true } });
    try {
      await hosts.a.webiso.machines.operations.add(KIOSK, { networks: [HOME] }, actor);
      const { cookie } = await hosts.a.webiso.machines.operations.mint(KIOSK, 30, actor);
      const results = await presentAtOnce(hosts, cookie, OUTSIDE);
      assert.equal(results.filter((result) => result.claims?.kind === 'machine').length, 0, 'no machine identity from outside its networks');
      const events = await hosts.b.webiso.machines.repository.events(KIOSK);
      assert.equal(events.filter((event) => event.action === 'auto_suspend').length, 1, 'one suspension, one history row');
      const reasons = (await hosts.a.webiso.store.db.selectFrom('machine_sightings').select('reason').where('fqdn', '=', KIOSK).execute()).map((row) => row.reason);
      assert.deepEqual(
        [reasons.filter((reason) => reason === 'auto_suspended').length, reasons.filter((reason) => reason === 'suspended').length],
        [1, PRESENTATIONS - 1],
        'the presentation that raised the alert was refused, the others found the machine suspended',
      );
      assert.equal((await hosts.b.webiso.machines.repository.find(KIOSK))?.status, 'suspended');
    } finally {
      await hosts.close();
    }
  });
});

describe('enrollment links on two hosts at the same instant', () => {
  const codeOf = (url: string) => new URL(url).pathname.split('/').at(-1) ?? '';

  it('a link redeemed 20 times at once installs one cookie; the others are refused as used', async () => {
    const hosts = await twoHosts();
    try {
      await hosts.a.webiso.machines.operations.add(KIOSK, {}, actor);
      const { url } = await hosts.a.webiso.machines.operations.createEnrollment(KIOSK, 30, actor);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? hosts.a : hosts.b).webiso.machines.operations.redeemEnrollment(codeOf(url), { name: 'enrollment', ip: '10.1.2.3' })),
      );
      const redeemed = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      assert.equal(redeemed.length, 1, 'single use');
      for (const outcome of outcomes) if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof EnrollmentInvalidError, String(outcome.reason));
      assert.equal((await hosts.b.webiso.machines.repository.find(KIOSK))?.version, 1, 'the version moved once');
      assert.equal((await hosts.b.webiso.machines.repository.events(KIOSK)).filter((event) => event.action === 'enroll_redeem').length, 1);
    } finally {
      await hosts.close();
    }
  });

  it('links issued for one machine at once on both hosts leave exactly one pending, the others cancelled', async () => {
    const hosts = await twoHosts();
    try {
      await hosts.a.webiso.machines.operations.add(KIOSK, {}, actor);
      const links = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? hosts.a : hosts.b).webiso.machines.operations.createEnrollment(KIOSK, 30, actor)));
      assert.equal(links.length, 10, 'none ran into the one-open-link index');
      assert.equal((await hosts.b.webiso.machines.operations.pendingEnrollments()).length, 1);
      const events = await hosts.a.webiso.machines.repository.events(KIOSK);
      assert.deepEqual(
        [events.filter((event) => event.action === 'enroll_create').length, events.filter((event) => event.action === 'enroll_cancel').length],
        [10, 9],
        'each new link cancelled the one before it',
      );
    } finally {
      await hosts.close();
    }
  });
});
