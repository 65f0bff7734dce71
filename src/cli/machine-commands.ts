import type { Command } from 'commander';
import { parseReason } from '../machines/input.ts';
import { endSessionsOfMachine } from '../logout/end-sessions.ts';
import { withMachines, withServices } from './context.ts';
import { CliError } from './errors.ts';
import { registerEnrollmentCommands } from './enrollment-commands.ts';
import { actorOf, BY_OPTION, collect, existingMachine, MACHINE_HEADERS, machineName, machineRow, parseCutoff } from './machine-helpers.ts';
import { registerMachineQueries } from './machine-queries.ts';
import { print, printTable, time } from './output.ts';

const REASON_OPTION = ['--reason <text>', 'recorded in the history'] as const;

function registerAddAndUpdate(machine: Command): void {
  machine
    .command('add <fqdn>')
    .description('register a machine (version 0: no cookie is valid until one is minted or enrolled)')
    .option('--location <text>', 'where the machine stands')
    .option('--network <cidr>', 'a network (CIDR) where the machine is expected (repeatable)', collect)
    .option('--entitlement <name>', 'an entitlement released with its grants (repeatable)', collect)
    .option(...BY_OPTION)
    .action(async (fqdn: string, options: { location?: string; network?: string[]; entitlement?: string[]; by?: string }) =>
      withMachines(async (machines) => {
        const name = machineName(fqdn);
        if (await machines.repository.find(name)) throw new CliError(`machine "${name}" already exists`);
        const details = { location: options.location, networks: options.network ?? [], entitlements: options.entitlement ?? [] };
        const added = await machines.operations.add(name, details, actorOf(options));
        print(`added machine ${added.fqdn} (version 0); install a cookie with \`webiso machine enroll ${added.fqdn}\` or from the admin pages`);
      }),
    );
  machine
    .command('update <fqdn>')
    .description("change a machine's location, networks or entitlements")
    .option('--location <text>', 'new location ("" clears it)')
    .option('--network <cidr>', 'replace the networks with these (repeatable)', collect)
    .option('--clear-networks', 'remove all networks (switches the outside-networks rule off)')
    .option('--entitlement <name>', 'replace the entitlements with these (repeatable)', collect)
    .option('--clear-entitlements', 'remove all entitlements')
    .option(...BY_OPTION)
    .action(async (fqdn: string, options: { location?: string; network?: string[]; clearNetworks?: boolean; entitlement?: string[]; clearEntitlements?: boolean; by?: string }) =>
      withMachines(async (machines) => {
        const target = (await existingMachine(machines, fqdn)).fqdn;
        const details = {
          ...(options.location !== undefined ? { location: options.location } : {}),
          ...(options.network || options.clearNetworks ? { networks: options.network ?? [] } : {}),
          ...(options.entitlement || options.clearEntitlements ? { entitlements: options.entitlement ?? [] } : {}),
        };
        printTable(MACHINE_HEADERS, [machineRow(await machines.operations.update(target, details, actorOf(options)))]);
      }),
    );
}

function registerVersionAndStatus(machine: Command): void {
  machine
    .command('revoke <fqdn>')
    .description('make every cookie of the machine invalid (bumps the version, issues none)')
    .option(...REASON_OPTION)
    .option(...BY_OPTION)
    .action(async (fqdn: string, options: { reason?: string; by?: string }) =>
      withServices(async (services, log) => {
        const target = (await existingMachine(services.machines, fqdn)).fqdn;
        const revoked = await services.machines.operations.revoke(target, actorOf(options), parseReason(options.reason));
        await endSessionsOfMachine(services, target, 'machine_revoked', { log });
        print(`revoked every cookie of machine ${revoked.fqdn}: version is now ${revoked.version}`);
      }),
    );
  for (const [name, verb, state] of [['suspend', 'suspended', 'suspended'], ['reactivate', 'reactivated', 'active']] as const) {
    machine
      .command(`${name} <fqdn>`)
      .description(name === 'suspend' ? 'refuse the machine until it is reactivated' : 'accept a suspended machine again')
      .option(...REASON_OPTION)
      .option(...BY_OPTION)
      .action(async (fqdn: string, options: { reason?: string; by?: string }) =>
        withServices(async (services, log) => {
          const target = (await existingMachine(services.machines, fqdn)).fqdn;
          const changed = await services.machines.operations[name](target, actorOf(options), parseReason(options.reason));
          if (name === 'suspend') await endSessionsOfMachine(services, target, 'machine_revoked', { log });
          print(changed ? `${verb} machine ${target}` : `machine ${target} already was ${state}: nothing changed`);
        }),
      );
  }
}

function registerGlobal(machine: Command): void {
  machine
    .command('invalidate-before <time>')
    .description('refuse every machine cookie issued before TIME (ISO 8601 with a zone, or "now"); the cutoff only moves later')
    .option(...BY_OPTION)
    .action(async (cutoffText: string, options: { by?: string }) =>
      withMachines(async (machines) => {
        const cutoff = await machines.operations.setInvalidBefore(parseCutoff(cutoffText, Date.now()), actorOf(options));
        print(`machine cookies issued before ${time(cutoff)} are refused from now on`);
      }),
    );
  machine
    .command('rotate-key')
    .description('new machine signing key: every machine cookie stops working within minutes, re-mint or re-enroll them all')
    .option(...BY_OPTION)
    .action(async (options: { by?: string }) =>
      withMachines(async (machines) => print(`new machine signing key ${await machines.operations.rotateKey(actorOf(options))} is now active`)),
    );
}

/** `webiso machine …`: the admin pages' operations for scripting (inherits the program's settings). */
export function registerMachineCommands(program: Command): void {
  const machine = program.command('machine').description('kiosk machines: version table, cookies, enrollment links, sightings, alerts');
  registerAddAndUpdate(machine);
  registerVersionAndStatus(machine);
  registerMachineQueries(machine);
  registerEnrollmentCommands(machine);
  registerGlobal(machine);
}
