import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/**
 * `npm install` warns (EBADENGINE) about any installed package whose `engines.node` excludes the
 * running Node. The README promises Node 20 (package.json: engines.node), so every package in the
 * lockfile must accept the oldest Node 20 webiso supports and the newest Node 20.
 */

type Version = readonly [number, number, number];

const lock = JSON.parse(readFileSync(join(process.cwd(), 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } }> };
const own = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { engines: { node: string } };

function parse(text: string): { version: Version; given: number } {
  const parts = text.replace(/^v/, '').split('.');
  const numbers = parts.map((part) => (/^\d+$/.test(part) ? Number(part) : undefined));
  const given = numbers.findIndex((part) => part === undefined);
  const count = given === -1 ? numbers.length : given;
  return { version: [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0], given: count };
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** One comparator of a range (`>=20`, `^8.16.0`, `20.x`, `>= 0.4`, `*`); enough for the lockfile's ranges. */
function satisfiesComparator(version: Version, comparator: string): boolean {
  const match = /^(>=|<=|>|<|\^|~|=)?\s*(.*)$/.exec(comparator.trim());
  const [, operator = '', rest = ''] = match ?? [];
  if (rest === '*' || rest === 'x' || rest === '') return true;
  const { version: bound, given } = parse(rest);
  const order = compare(version, bound);
  if (operator === '>=') return order >= 0;
  if (operator === '>') return order > 0;
  if (operator === '<=') return order <= 0;
  if (operator === '<') return order < 0;
  if (operator === '^') return order >= 0 && version[0] === bound[0] && (bound[0] !== 0 || version[1] === bound[1]);
  if (operator === '~') return order >= 0 && version[0] === bound[0] && version[1] === bound[1];
  // a partial version (20.x, 10.*, 20) matches every version it leaves open
  return bound.slice(0, given).every((part, index) => part === version[index]);
}

/** A range: alternatives separated by `||`, each comparators separated by spaces (`>=1.2.3 <2`). */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    const comparators = alternative.trim().replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1').split(/\s+/).filter(Boolean);
    return comparators.length === 0 || comparators.every((comparator) => satisfiesComparator(version, comparator));
  });
}

describe('the Node version the README names', () => {
  it('the range checker reads the lockfile ranges as npm does', () => {
    assert.ok(satisfies([20, 12, 0], '>=18'));
    assert.ok(!satisfies([20, 12, 0], '>=22'));
    assert.ok(satisfies([20, 19, 0], '20.x || 22.x || 23.x'));
    assert.ok(satisfies([20, 0, 0], '^8.16.0 || ^10.6.0 || >=11.0.0'));
    assert.ok(satisfies([20, 0, 0], '>= 0.4'));
    assert.ok(satisfies([20, 0, 0], '10.* || >= 12.*'));
    assert.ok(!satisfies([20, 0, 0], '^22.0.0'));
    assert.ok(satisfies([20, 0, 0], '*'));
  });

  it('every locked package accepts Node 20 (no EBADENGINE on npm install)', () => {
    const oldest = parse(own.engines.node.replace(/^>=\s*/, '')).version;
    assert.equal(oldest[0], 20, 'package.json promises Node 20, as the README does');
    const refusing = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .filter(([, entry]) => entry.engines?.node !== undefined)
      .filter(([, entry]) => !satisfies(oldest, entry.engines!.node!) || !satisfies([20, 99, 0], entry.engines!.node!))
      .map(([path, entry]) => `${path.replace(/^.*node_modules\//, '')} wants node ${entry.engines!.node}`);
    assert.deepEqual(refusing, []);
  });
});
