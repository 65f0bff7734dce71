import { userInfo } from 'node:os';
import type { MachineAlert } from '../machines/alerts-repository.ts';
import { checkFqdn } from '../machines/fqdn.ts';
import type { Machine, MachineListEntry } from '../machines/machines-repository.ts';
import type { Actor } from '../machines/operations.ts';
import type { MachineServices } from '../machines/service.ts';
import { CliError } from './errors.ts';
import { time } from './output.ts';

/** Shared by the `webiso machine …` commands: option parsing and the rows of their tables. */

// eslint-disable-next-line no-control-regex
const ACTOR = /^[^\u0000-\u001f\u007f-\u009f]{1,64}$/;

/** Repeatable options start undefined, so `--help` shows no "(default: [])". */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export const BY_OPTION = ['--by <name>', 'who is acting, for the history (default: cli:<os user>)'] as const;

/** The CLI acts as `cli:<os user>` unless --by names the person; its operator already has the database. */
export function actorOf(options: { by?: string }): Actor {
  const name = options.by ?? `cli:${userInfo().username}`;
  if (!ACTOR.test(name)) throw new CliError(`invalid --by "${name}": use 1-64 characters without control characters`);
  return { name };
}

/** A machine name typed on the command line, lower-cased. */
export function machineName(value: string): string {
  const check = checkFqdn(value);
  if (!check.ok) throw new CliError(`invalid machine name "${value}": ${check.problem}`);
  return check.fqdn;
}

/** A machine that exists, by the name typed on the command line. */
export async function existingMachine(machines: MachineServices, fqdn: string): Promise<Machine> {
  const name = machineName(fqdn);
  const machine = await machines.repository.find(name);
  if (!machine) throw new CliError(`no such machine "${name}"`);
  return machine;
}

/** A whole number option from 1 to `max`. */
export function parseCount(value: string, option: string, max: number, what = 'a whole number'): number {
  if (!/^[0-9]{1,16}$/.test(value) || Number(value) < 1 || Number(value) > max) throw new CliError(`invalid ${option} "${value}": use ${what} from 1 to ${max}`);
  return Number(value);
}

/** Parses `invalidate-before`'s argument: an ISO 8601 time with a zone, or `now`. */
export function parseCutoff(value: string, nowMs: number): number {
  if (value === 'now') return Math.floor(nowMs / 1000);
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new CliError(`invalid time "${value}": use ISO 8601 with a zone, e.g. 2026-11-22T12:00:00Z, or "now"`);
  return Math.floor(ms / 1000);
}

export const MACHINE_HEADERS = ['FQDN', 'VERSION', 'STATUS', 'SET BY', 'SET AT', 'EXPIRES', 'LAST SEEN', 'LAST IP', 'ALERTS'] as const;

export function machineRow(machine: Machine & Partial<Pick<MachineListEntry, 'lastSeen' | 'lastIp' | 'openAlerts'>>): string[] {
  return [
    machine.fqdn,
    String(machine.version),
    machine.status,
    machine.setBy,
    time(machine.setAt),
    time(machine.expiresAt),
    time(machine.lastSeen),
    machine.lastIp ?? '-',
    String(machine.openAlerts ?? 0),
  ];
}

export const ALERT_HEADERS = ['ID', 'STATUS', 'FQDN', 'RULE', 'ADDRESS', 'COUNT', 'LAST', 'DETAIL'] as const;

export function alertRow(alert: MachineAlert): string[] {
  return [`#${alert.id}`, alert.status, alert.fqdn, alert.rule, alert.clientIp, String(alert.count), time(alert.lastAt), alert.detail];
}
