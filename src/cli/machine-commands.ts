import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { loadConfig } from '../config/load.ts';
import type { WebisoConfig } from '../config/schema.ts';
import { openAndMigrate } from '../db/database.ts';
import { createKeysRepository } from '../keys/keys-repository.ts';
import { createKeystore } from '../keys/keystore.ts';
import type { MachineAlert } from '../machines/alerts-repository.ts';
import { parseFqdn, parseReason } from '../machines/input.ts';
import type { Machine } from '../machines/machines-repository.ts';
import type { Actor } from '../machines/operations.ts';
import { createMachineServices, type MachineServices } from '../machines/service.ts';

/** A user-facing error of the machine commands: printed without a stack trace, exit status 1. */
export class MachineCliError extends Error {}

const RETIRED_KEY_MARGIN_SECONDS = 300;
// eslint-disable-next-line no-control-regex
const ACTOR = /^[^\u0000-\u001f\u007f-\u009f]{1,64}$/;

const collect = (value: string, previous: string[]) => [...previous, value];
const iso = (seconds: number | null | undefined) => (seconds === null || seconds === undefined ? '-' : new Date(seconds * 1000).toISOString());
const print = (line: string) => console.log(line);

async function withMachines<T>(fn: (machines: MachineServices, config: WebisoConfig) => T | Promise<T>): Promise<T> {
  const { config } = loadConfig();
  const db = openAndMigrate(config.dataDir);
  try {
    const keystore = createKeystore({ repository: createKeysRepository(db), now: Date.now, retiredKeyGraceSeconds: config.grant.lifetimeSeconds + RETIRED_KEY_MARGIN_SECONDS });
    return await fn(createMachineServices({ db, config, keystore, now: Date.now }), config);
  } finally {
    db.close();
  }
}

/** The CLI acts as `cli:<os user>` unless --by names the person; its operator already has the database. */
function actorOf(options: { by?: string }): Actor {
  const name = options.by ?? `cli:${userInfo().username}`;
  if (!ACTOR.test(name)) throw new MachineCliError('--by: 1-64 characters without control characters');
  return { name };
}

function machineLine(machine: Machine & { lastSeen?: number | null; lastIp?: string | null; openAlerts?: number }): string {
  return [
    machine.fqdn,
    `v${machine.version}`,
    machine.status,
    `set by ${machine.setBy} ${iso(machine.setAt)}`,
    `expires ${iso(machine.expiresAt)}`,
    `last seen ${iso(machine.lastSeen)} ${machine.lastIp ?? '-'}`,
    `alerts ${machine.openAlerts ?? 0}`,
  ].join('\t');
}

function alertLine(alert: MachineAlert): string {
  return [`#${alert.id}`, alert.status, alert.fqdn, alert.rule, alert.clientIp, `x${alert.count}`, iso(alert.lastAt), alert.detail].join('\t');
}

/** Parses `invalidate-before`'s argument: an ISO 8601 time with a zone, or `now`. */
export function parseCutoff(value: string, nowMs: number): number {
  if (value === 'now') return Math.floor(nowMs / 1000);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new MachineCliError(`invalid time "${value}": use ISO 8601 with a zone, e.g. 2026-11-22T12:00:00Z, or "now"`);
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new MachineCliError(`invalid time "${value}"`);
  return Math.floor(ms / 1000);
}

function parseCount(value: string, label: string, max: number): number {
  if (!/^[0-9]{1,7}$/.test(value) || Number(value) < 1 || Number(value) > max) throw new MachineCliError(`${label}: a whole number from 1 to ${max}`);
  return Number(value);
}

function registerChanges(machine: Command): void {
  machine
    .command('add <fqdn>')
    .description('register a machine (version 0: no cookie is valid until one is minted or enrolled)')
    .option('--location <text>', 'where the machine stands')
    .option('--network <cidr>', 'a network (CIDR) where the machine is expected; repeatable', collect, [])
    .option('--entitlement <name>', 'an entitlement released with its grants; repeatable', collect, [])
    .option('--by <name>', 'who is acting (default cli:<os user>)')
    .action(async (fqdn: string, options: { location?: string; network: string[]; entitlement: string[]; by?: string }) =>
      withMachines((machines) => {
        const added = machines.operations.add(parseFqdn(fqdn), { location: options.location, networks: options.network, entitlements: options.entitlement }, actorOf(options));
        print(`added ${added.fqdn} (version 0); install a cookie with \`webiso machine enroll ${added.fqdn}\` or from the admin pages`);
      }),
    );
  machine
    .command('update <fqdn>')
    .description("change a machine's location, networks or entitlements")
    .option('--location <text>', 'new location ("" clears it)')
    .option('--network <cidr>', 'replace the networks with these; repeatable', collect, [])
    .option('--clear-networks', 'remove all networks (switches the outside-networks rule off)')
    .option('--entitlement <name>', 'replace the entitlements with these; repeatable', collect, [])
    .option('--clear-entitlements', 'remove all entitlements')
    .option('--by <name>', 'who is acting (default cli:<os user>)')
    .action(async (fqdn: string, options: { location?: string; network: string[]; clearNetworks?: boolean; entitlement: string[]; clearEntitlements?: boolean; by?: string }) =>
      withMachines((machines) => {
        const details = {
          ...(options.location !== undefined ? { location: options.location } : {}),
          ...(options.network.length > 0 || options.clearNetworks ? { networks: options.network } : {}),
          ...(options.entitlement.length > 0 || options.clearEntitlements ? { entitlements: options.entitlement } : {}),
        };
        print(machineLine(machines.operations.update(parseFqdn(fqdn), details, actorOf(options))));
      }),
    );
  machine
    .command('revoke <fqdn>')
    .description('make every cookie of the machine invalid (bumps the version, issues none)')
    .option('--reason <text>', 'recorded in the history')
    .option('--by <name>', 'who is acting (default cli:<os user>)')
    .action(async (fqdn: string, options: { reason?: string; by?: string }) =>
      withMachines((machines) => {
        const revoked = machines.operations.revoke(parseFqdn(fqdn), actorOf(options), parseReason(options.reason));
        print(`revoked every cookie of ${revoked.fqdn}: version is now ${revoked.version}`);
      }),
    );
  for (const [name, verb] of [['suspend', 'suspended'], ['reactivate', 'reactivated']] as const) {
    machine
      .command(`${name} <fqdn>`)
      .description(name === 'suspend' ? 'refuse the machine until it is reactivated' : 'accept a suspended machine again')
      .option('--reason <text>', 'recorded in the history')
      .option('--by <name>', 'who is acting (default cli:<os user>)')
      .action(async (fqdn: string, options: { reason?: string; by?: string }) =>
        withMachines((machines) => {
          const target = parseFqdn(fqdn);
          const changed = machines.operations[name](target, actorOf(options), parseReason(options.reason));
          print(changed ? `${verb} ${target}` : `${target} already was ${verb === 'suspended' ? 'suspended' : 'active'}: nothing changed`);
        }),
      );
  }
}

function registerQueries(machine: Command): void {
  machine
    .command('list')
    .description('list machines')
    .option('--status <status>', 'active or suspended')
    .option('--expiring <days>', 'only cookies expiring within this many days')
    .option('--json', 'machine-readable output')
    .action(async (options: { status?: string; expiring?: string; json?: boolean }) =>
      withMachines((machines) => {
        if (options.status !== undefined && options.status !== 'active' && options.status !== 'suspended') throw new MachineCliError('--status: active or suspended');
        const horizon = options.expiring === undefined ? undefined : Math.floor(Date.now() / 1000) + parseCount(options.expiring, '--expiring', 3650) * 86_400;
        const rows = machines.repository
          .list()
          .filter((row) => options.status === undefined || row.status === options.status)
          .filter((row) => horizon === undefined || (row.expiresAt !== null && row.expiresAt <= horizon));
        if (options.json) return print(JSON.stringify(rows, null, 2));
        if (rows.length === 0) print('no machines');
        for (const row of rows) print(machineLine(row));
      }),
    );
  machine
    .command('show <fqdn>')
    .description("a machine's details, cookie history, claimed addresses and alerts")
    .option('--json', 'machine-readable output')
    .action(async (fqdn: string, options: { json?: boolean }) =>
      withMachines((machines) => {
        const target = parseFqdn(fqdn);
        const found = machines.repository.find(target);
        if (!found) throw new MachineCliError(`no machine named ${target}`);
        const events = machines.repository.events(target);
        const addresses = machines.sightings.addresses(target);
        const alerts = machines.alerts.forMachine(target);
        if (options.json) return print(JSON.stringify({ machine: found, events, addresses, alerts }, null, 2));
        print(machineLine(found));
        print(`location: ${found.location ?? '-'}\nnetworks: ${found.networks.join(', ') || '-'}\nentitlements: ${found.entitlements.join(', ') || '-'}`);
        print('history:');
        for (const event of events) print(`  ${iso(event.at)}\t${event.action}\tv${event.version ?? '-'}\t${event.actor}\t${event.clientIp ?? '-'}\t${event.reason ?? ''}\t${event.detail ?? ''}`);
        print('addresses:');
        for (const address of addresses) print(`  ${address.clientIp}\t${address.network}\tfirst ${iso(address.firstSeen)}\tlast ${iso(address.lastSeen)}\t${address.count} (${address.rejectedCount} refused)`);
        print('alerts:');
        for (const alert of alerts) print(`  ${alertLine(alert)}`);
      }),
    );
  machine
    .command('sightings <fqdn>')
    .description('the addresses a machine has claimed, and its recent presentations')
    .option('--limit <n>', 'recent presentations to show (default 50)', '50')
    .option('--json', 'machine-readable output')
    .action(async (fqdn: string, options: { limit: string; json?: boolean }) =>
      withMachines((machines) => {
        const target = parseFqdn(fqdn);
        const addresses = machines.sightings.addresses(target);
        const recent = machines.sightings.recent(target, parseCount(options.limit, '--limit', 10_000));
        if (options.json) return print(JSON.stringify({ addresses, recent }, null, 2));
        print(`addresses claimed by ${target}:`);
        for (const address of addresses) print(`  ${address.clientIp}\t${address.network}\tfirst ${iso(address.firstSeen)}\tlast ${iso(address.lastSeen)}\t${address.count} (${address.rejectedCount} refused)`);
        print('recent presentations:');
        for (const sighting of recent) print(`  ${iso(sighting.at)}\t${sighting.clientIp}\t${sighting.appId ?? '-'}\tv${sighting.version ?? '-'}\t${sighting.outcome}\t${sighting.reason ?? ''}${sighting.fqdn === null ? ' (unverified claim)' : ''}`);
      }),
    );
  machine
    .command('alerts')
    .description('open anomaly alerts (--all: closed ones too); --close ID closes one')
    .option('--all', 'include closed alerts')
    .option('--machine <fqdn>', "only this machine's alerts")
    .option('--close <id>', 'close this alert')
    .option('--by <name>', 'who is acting (default cli:<os user>)')
    .option('--json', 'machine-readable output')
    .action(async (options: { all?: boolean; machine?: string; close?: string; by?: string; json?: boolean }) =>
      withMachines((machines) => {
        if (options.close !== undefined) {
          const closed = machines.operations.closeAlert(parseCount(options.close, '--close', Number.MAX_SAFE_INTEGER), actorOf(options));
          return print(`alert #${closed.id} (${closed.fqdn}, ${closed.rule}) is ${closed.status}`);
        }
        const target = options.machine === undefined ? undefined : parseFqdn(options.machine);
        const alerts = (target ? machines.alerts.forMachine(target, 500) : machines.alerts.list(options.all ? 'all' : 'open')).filter((alert) => options.all || alert.status === 'open');
        if (options.json) return print(JSON.stringify(alerts, null, 2));
        if (alerts.length === 0) print('no alerts');
        for (const alert of alerts) print(alertLine(alert));
      }),
    );
}

function registerKeysAndEnrollment(machine: Command): void {
  machine
    .command('invalidate-before <time>')
    .description('refuse every machine cookie issued before TIME (ISO 8601 or "now"); the cutoff only moves later')
    .option('--by <name>', 'who is acting (default cli:<os user>)')
    .action(async (time: string, options: { by?: string }) =>
      withMachines((machines) => {
        const cutoff = machines.operations.setInvalidBefore(parseCutoff(time, Date.now()), actorOf(options));
        print(`machine cookies issued before ${iso(cutoff)} are refused from now on`);
      }),
    );
  machine
    .command('enroll <fqdn>')
    .description('print a one-time URL that installs a fresh cookie in the browser that opens it')
    .option('--days <n>', 'cookie lifetime in days (default and maximum: machines.maxLifetimeDays)')
    .option('--by <name>', 'who is acting (default cli:<os user>)')
    .action(async (fqdn: string, options: { days?: string; by?: string }) =>
      withMachines((machines, config) => {
        const enrollment = machines.operations.createEnrollment(parseFqdn(fqdn), options.days ?? config.machines.maxLifetimeDays, actorOf(options));
        print(enrollment.url);
        console.error(`open it in the kiosk's own browser before ${iso(enrollment.expiresAt)}; it works once`);
      }),
    );
  machine
    .command('rotate-key')
    .description('new machine signing key: every machine cookie stops working within minutes, re-mint or re-enroll them all')
    .option('--by <name>', 'who is acting (default cli:<os user>)')
    .action(async (options: { by?: string }) =>
      withMachines(async (machines) => print(`new machine signing key ${await machines.operations.rotateKey(actorOf(options))} is active`)),
    );
}

/** `webiso machine …`: the admin pages' operations for scripting (inherits the program's exitOverride). */
export function registerMachineCommands(program: Command): void {
  const machine = program.command('machine').description('kiosk machines: version table, cookies, sightings, alerts');
  registerChanges(machine);
  registerQueries(machine);
  registerKeysAndEnrollment(machine);
}
