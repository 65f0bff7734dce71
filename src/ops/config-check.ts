import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { WebisoConfig } from '../config/schema.ts';
import { readTokenFile } from './access.ts';
import { readTlsMaterial } from './tls.ts';

/**
 * `webiso config check [FILE]`: the schema first (loadConfig names each bad option), then every
 * file the configuration points at, read as the server would read it. Problems are reported with
 * their option path, all at once.
 */
export interface ConfigCheckReport {
  readonly path: string;
  readonly checkedFiles: readonly string[];
}

interface Issue {
  readonly option: string;
  readonly message: string;
}

const errno = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

function readable(option: string, path: string, issues: Issue[], checked: string[]): void {
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a regular file' });
    checked.push(`${option}: ${path}`);
  } catch (error) {
    issues.push({ option, message: `cannot read ${path}: ${errno(error)}` });
  }
}

/** A loader that throws ConfigError("invalid configuration: OPTION: …") is reported under its option. */
function viaLoader(option: string, path: string, load: () => unknown, issues: Issue[], checked: string[]): void {
  try {
    load();
    checked.push(`${option}: ${path}`);
  } catch (error) {
    const message = (error as Error).message.replace(/^invalid configuration: [\w.[\]]+: /, '');
    issues.push({ option, message });
  }
}

function checkBindPassword(path: string, issues: Issue[], checked: string[]): void {
  try {
    if (readFileSync(path, 'utf8').replace(/\r?\n$/, '') === '') throw new Error('the file is empty');
    checked.push(`verifier.bindPasswordFile: ${path}`);
  } catch (error) {
    issues.push({ option: 'verifier.bindPasswordFile', message: `cannot use ${path}: ${errno(error)}` });
  }
}

/** The data directory must be writable, or creatable under a writable parent. */
function checkDataDir(dataDir: string, issues: Issue[], checked: string[]): void {
  const path = resolve(dataDir);
  let existing = path;
  while (!safeExists(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    if (!statSync(existing).isDirectory()) throw Object.assign(new Error(), { code: `${existing} is not a directory` });
    accessSync(existing, constants.W_OK);
    checked.push(`dataDir: ${path}${existing === path ? '' : ' (will be created)'}`);
  } catch (error) {
    issues.push({ option: 'dataDir', message: `cannot write ${existing}: ${errno(error)}` });
  }
}

function safeExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function checkReferencedFiles(config: WebisoConfig): { issues: Issue[]; checked: string[] } {
  const issues: Issue[] = [];
  const checked: string[] = [];
  const { verifier, tls, ops } = config;
  checkDataDir(config.dataDir, issues, checked);
  if (verifier.kind === 'kerberos') {
    readable('verifier.keytab', verifier.keytab, issues, checked);
    if (verifier.krb5Config !== undefined) readable('verifier.krb5Config', verifier.krb5Config, issues, checked);
  }
  if (verifier.kind === 'ldap' && verifier.bindPasswordFile !== undefined) checkBindPassword(verifier.bindPasswordFile, issues, checked);
  if (tls) viaLoader('tls', `${tls.certFile}, ${tls.keyFile}`, () => readTlsMaterial(tls), issues, checked);
  const { tokenFile } = ops.metrics;
  if (ops.metrics.access === 'token' && tokenFile !== undefined) viaLoader('ops.metrics.tokenFile', tokenFile, () => readTokenFile(tokenFile), issues, checked);
  return { issues, checked };
}

export function checkConfigFile(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigCheckReport {
  const { config, path } = loadConfig(file === undefined ? env : { ...env, WEBISO_CONFIG: file });
  const { issues, checked } = checkReferencedFiles(config);
  if (issues.length > 0) {
    throw new ConfigError(`invalid configuration in ${path}:\n${issues.map((issue) => `  - ${issue.option}: ${issue.message}`).join('\n')}`);
  }
  return { path, checkedFiles: checked };
}
