import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding webiso's package.json, views/ and migrations/. Found by walking up from
 * this file rather than by a fixed `../..`: the sources run from src/ops/ (tsx), the compiled
 * JavaScript from dist/src/ops/ (`npm run build`) or any other outDir inside the package.
 */
function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`webiso: no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
