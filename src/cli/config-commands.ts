import type { Command } from 'commander';
import { checkConfigFile } from '../ops/config-check.ts';
import { print } from './output.ts';

/** `webiso config …`: the configuration file. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('the configuration file');
  config
    .command('check')
    .argument('[file]', 'the file to check (default: $WEBISO_CONFIG or config/webiso.yaml)')
    .description('validate a configuration file and the files it refers to (keytab, certificates, secrets); exit 1 naming the option on error')
    .action((file: string | undefined) => {
      const report = checkConfigFile(file);
      print(`configuration ${report.path} is valid`);
      for (const line of report.checkedFiles) print(`  ${line}`);
    });
}
