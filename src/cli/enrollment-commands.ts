import type { Command } from 'commander';
import { parseReason } from '../machines/input.ts';
import { withMachines } from './context.ts';
import { CliError } from './errors.ts';
import { actorOf, BY_OPTION, existingMachine, parseCount } from './machine-helpers.ts';
import { print, printTable, time } from './output.ts';

/**
 * Enrollment links: `enroll` issues one (and cancels the machine's older pending link),
 * `enrollments` lists the pending ones, `cancel-enrollment` withdraws one before it is used.
 */
export function registerEnrollmentCommands(machine: Command): void {
  machine
    .command('enroll <fqdn>')
    .description("print a one-time URL that installs a fresh cookie in the browser that opens it; the machine's older pending link stops working")
    .option('--days <n>', 'cookie lifetime in days (default and maximum: machines.maxLifetimeDays)')
    .option(...BY_OPTION)
    .action(async (fqdn: string, options: { days?: string; by?: string }) =>
      withMachines(async (machines, config) => {
        const target = (await existingMachine(machines, fqdn)).fqdn;
        const maxDays = config.machines.maxLifetimeDays;
        const days = options.days === undefined ? maxDays : parseCount(options.days, '--days', maxDays, 'a number of days');
        const replaced = await machines.operations.pendingEnrollmentOf(target);
        const enrollment = await machines.operations.createEnrollment(target, days, actorOf(options));
        print(enrollment.url);
        if (replaced) console.error(`the earlier link ${replaced.tag} of ${target} is cancelled`);
        console.error(`open it in the kiosk's own browser before ${time(enrollment.expiresAt)}; it works once`);
      }),
    );
  machine
    .command('enrollments')
    .description('list the enrollment links that can still be used')
    .option('--json', 'machine-readable output (times in unix seconds)')
    .action(async (options: { json?: boolean }) =>
      withMachines(async (machines) => {
        const pending = await machines.operations.pendingEnrollments();
        if (options.json) return print(JSON.stringify(pending, null, 2));
        if (pending.length === 0) return print('no pending enrollment links');
        printTable(
          ['FQDN', 'LINK', 'ISSUED BY', 'ISSUED', 'USABLE UNTIL', 'COOKIE DAYS'],
          pending.map((link) => [link.fqdn, link.tag, link.createdBy, time(link.createdAt), time(link.expiresAt), String(link.lifetimeDays)]),
        );
      }),
    );
  machine
    .command('cancel-enrollment <fqdn>')
    .description("cancel the machine's pending enrollment link")
    .option('--reason <text>', 'recorded in the history')
    .option(...BY_OPTION)
    .action(async (fqdn: string, options: { reason?: string; by?: string }) =>
      withMachines(async (machines) => {
        const target = (await existingMachine(machines, fqdn)).fqdn;
        if (!(await machines.operations.pendingEnrollmentOf(target))) throw new CliError(`machine ${target} has no pending enrollment link`);
        const cancelled = await machines.operations.cancelEnrollment(target, actorOf(options), parseReason(options.reason));
        print(`cancelled the enrollment link ${cancelled.tag} of machine ${target}`);
      }),
    );
}
