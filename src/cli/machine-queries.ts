import type { Command } from 'commander';
import type { AddressSummary, Sighting } from '../machines/sightings-repository.ts';
import { withMachines } from './context.ts';
import { CliError } from './errors.ts';
import { actorOf, ALERT_HEADERS, alertRow, BY_OPTION, existingMachine, MACHINE_HEADERS, machineName, machineRow, parseCount } from './machine-helpers.ts';
import { print, printTable, time } from './output.ts';

const DAY = 86_400;
const MAX_EXPIRING_DAYS = 3650;
const MAX_SIGHTINGS = 10_000;
const ALERTS_OF_ONE_MACHINE = 500;
const JSON_OPTION = ['--json', 'machine-readable output (times in unix seconds)'] as const;

const ADDRESS_HEADERS = ['ADDRESS', 'NETWORK', 'FIRST SEEN', 'LAST SEEN', 'PRESENTATIONS', 'REFUSED'] as const;
const addressRow = (address: AddressSummary) => [address.clientIp, address.network, time(address.firstSeen), time(address.lastSeen), String(address.count), String(address.rejectedCount)];

const SIGHTING_HEADERS = ['WHEN', 'ADDRESS', 'APP', 'VERSION', 'OUTCOME', 'REASON'] as const;
const sightingRow = (sighting: Sighting) => [
  time(sighting.at),
  sighting.clientIp,
  sighting.appId ?? '-',
  sighting.version === null ? '-' : String(sighting.version),
  sighting.outcome,
  `${sighting.reason ?? ''}${sighting.fqdn === null ? ' (unverified claim)' : ''}`.trim(),
];

function registerList(machine: Command): void {
  machine
    .command('list')
    .description('list machines')
    .option('--status <status>', 'only machines in this state: active or suspended')
    .option('--expiring <days>', 'only cookies expiring within this many days')
    .option(...JSON_OPTION)
    .action(async (options: { status?: string; expiring?: string; json?: boolean }) =>
      withMachines(async (machines) => {
        if (options.status !== undefined && options.status !== 'active' && options.status !== 'suspended') throw new CliError(`invalid --status "${options.status}": use active or suspended`);
        const horizon = options.expiring === undefined ? undefined : Math.floor(Date.now() / 1000) + parseCount(options.expiring, '--expiring', MAX_EXPIRING_DAYS, 'a number of days') * DAY;
        const rows = (await machines.repository.list())
          .filter((row) => options.status === undefined || row.status === options.status)
          .filter((row) => horizon === undefined || (row.expiresAt !== null && row.expiresAt <= horizon));
        if (options.json) return print(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return print('no machines');
        printTable(MACHINE_HEADERS, rows.map(machineRow));
      }),
    );
}

function registerShow(machine: Command): void {
  machine
    .command('show <fqdn>')
    .description("a machine's details, cookie history, claimed addresses and alerts")
    .option(...JSON_OPTION)
    .action(async (fqdn: string, options: { json?: boolean }) =>
      withMachines(async (machines) => {
        const found = await existingMachine(machines, fqdn);
        const events = await machines.repository.events(found.fqdn);
        const addresses = await machines.sightings.addresses(found.fqdn);
        const alerts = await machines.alerts.forMachine(found.fqdn);
        const enrollment = (await machines.operations.pendingEnrollmentOf(found.fqdn)) ?? null;
        if (options.json) return print(JSON.stringify({ machine: found, events, addresses, alerts, enrollment }, null, 2));
        printTable(MACHINE_HEADERS, [machineRow(found)]);
        print(`location: ${found.location ?? '-'}\nnetworks: ${found.networks.join(', ') || '-'}\nentitlements: ${found.entitlements.join(', ') || '-'}`);
        print(`pending enrollment link: ${enrollment ? `${enrollment.tag}, usable until ${time(enrollment.expiresAt)}` : '-'}`);
        print('history:');
        printTable(
          ['WHEN', 'ACTION', 'VERSION', 'BY', 'FROM', 'REASON', 'DETAIL'],
          events.map((event) => [time(event.at), event.action, event.version === null ? '-' : String(event.version), event.actor, event.clientIp ?? '-', event.reason ?? '-', event.detail ?? '-']),
          '  ',
        );
        print('addresses:');
        printTable(ADDRESS_HEADERS, addresses.map(addressRow), '  ');
        print('alerts:');
        printTable(ALERT_HEADERS, alerts.map(alertRow), '  ');
      }),
    );
}

function registerSightings(machine: Command): void {
  machine
    .command('sightings <fqdn>')
    .description('the addresses a machine has claimed, and its recent presentations')
    .option('--limit <n>', 'how many recent presentations to show', '50')
    .option(...JSON_OPTION)
    .action(async (fqdn: string, options: { limit: string; json?: boolean }) =>
      withMachines(async (machines) => {
        const target = machineName(fqdn);
        const addresses = await machines.sightings.addresses(target);
        const recent = await machines.sightings.recent(target, parseCount(options.limit, '--limit', MAX_SIGHTINGS));
        if (options.json) return print(JSON.stringify({ addresses, recent }, null, 2));
        print(`addresses claimed by ${target}:`);
        printTable(ADDRESS_HEADERS, addresses.map(addressRow), '  ');
        print('recent presentations:');
        printTable(SIGHTING_HEADERS, recent.map(sightingRow), '  ');
      }),
    );
}

function registerAlerts(machine: Command): void {
  machine
    .command('alerts')
    .description('list open anomaly alerts, or close one')
    .option('--all', 'include closed alerts')
    .option('--machine <fqdn>', "only this machine's alerts")
    .option('--close <id>', 'close this alert')
    .option(...BY_OPTION)
    .option(...JSON_OPTION)
    .action(async (options: { all?: boolean; machine?: string; close?: string; by?: string; json?: boolean }) =>
      withMachines(async (machines) => {
        if (options.close !== undefined) {
          if (!/^[1-9][0-9]{0,14}$/.test(options.close)) throw new CliError(`invalid --close "${options.close}": use the number of an alert, as \`webiso machine alerts\` lists it`);
          const id = Number(options.close);
          if (!(await machines.alerts.find(id))) throw new CliError(`no such alert #${id}`);
          const closed = await machines.operations.closeAlert(id, actorOf(options));
          return print(`alert #${closed.id} (${closed.fqdn}, ${closed.rule}) is ${closed.status}`);
        }
        const target = options.machine === undefined ? undefined : machineName(options.machine);
        const alerts = (await (target ? machines.alerts.forMachine(target, ALERTS_OF_ONE_MACHINE) : machines.alerts.list(options.all ? 'all' : 'open'))).filter((alert) => options.all || alert.status === 'open');
        if (options.json) return print(JSON.stringify(alerts, null, 2));
        if (alerts.length === 0) return print('no alerts');
        printTable(ALERT_HEADERS, alerts.map(alertRow));
      }),
    );
}

/** The read-only machine commands (and closing an alert, which the alert list offers). */
export function registerMachineQueries(machine: Command): void {
  registerList(machine);
  registerShow(machine);
  registerSightings(machine);
  registerAlerts(machine);
}
