#!/usr/bin/env node
// Runs the compiled CLI (dist/, from `npm run build`) when it is there and not older than the
// sources; otherwise the TypeScript through tsx, so `npx webiso …` works from a checkout without a
// build step and a stale build never shadows edited sources.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist/src/cli/main.js');

function newestSourceMtime(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return Math.max(newest, newestSourceMtime(path));
    return entry.name.endsWith('.ts') ? Math.max(newest, statSync(path).mtimeMs) : newest;
  }, 0);
}

function compiledIsCurrent() {
  if (!existsSync(compiled)) return false;
  const sources = join(root, 'src');
  return !existsSync(sources) || statSync(compiled).mtimeMs >= newestSourceMtime(sources);
}

const args = process.argv.slice(2);
if (compiledIsCurrent()) {
  // In this process: signals (SIGTERM, SIGHUP) reach the server itself.
  const { runCli } = await import(pathToFileURL(compiled).href);
  const code = await runCli(args);
  // serve keeps running; every other command ends here with its status
  if (code !== 0 || !args.includes('serve')) process.exitCode = code;
} else {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
