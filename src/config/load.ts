import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type WebisoConfig } from './schema.ts';

export const DEFAULT_CONFIG_PATH = 'config/webiso.yaml';

/** Thrown when the config cannot be used; the message names the file and the exact option path. */
export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc === '' ? String(part) : `${acc}.${String(part)}`), '');
}

function formatIssues(source: string, issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.map((issue) => {
    const where = formatPath(issue.path) || '(top level)';
    return `  - ${where}: ${issue.message}`;
  });
  return `invalid configuration in ${source}:\n${lines.join('\n')}`;
}

/** Validates an already-parsed object; used by loadConfig and by tests that build configs in code. */
export function parseConfig(raw: unknown, source = 'configuration'): WebisoConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(source, result.error.issues));
  const config = result.data;
  return { ...config, issuer: config.issuer.replace(/\/+$/, '') };
}

/** Environment variables that override the file, for the common deployment knobs. */
function applyEnvironment(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const copy: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if (env.WEBISO_DATA_DIR) copy.dataDir = env.WEBISO_DATA_DIR;
  if (env.WEBISO_ISSUER) copy.issuer = env.WEBISO_ISSUER;
  if (env.WEBISO_PORT !== undefined && env.WEBISO_PORT !== '') {
    const port = Number(env.WEBISO_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ConfigError(`invalid environment: WEBISO_PORT: must be an integer from 0 to 65535, got "${env.WEBISO_PORT}"`);
    }
    const listen = typeof copy.listen === 'object' && copy.listen !== null ? copy.listen : {};
    copy.listen = { ...listen, port };
  }
  return copy;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): { config: WebisoConfig; path: string } {
  const path = resolve(env.WEBISO_CONFIG ?? DEFAULT_CONFIG_PATH);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError) throw new ConfigError(`invalid YAML in ${path}: ${error.message}`);
    throw error;
  }
  return { config: parseConfig(applyEnvironment(raw, env), path), path };
}

/** A secret the config names by file (passwords, keys): its text without the final newline, or a ConfigError naming the option. */
export function readSecretFile(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${option}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
