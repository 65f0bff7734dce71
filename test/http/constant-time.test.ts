import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constantTimeEquals, hmac, macEquals } from '../../src/http/hmac.ts';

// `left OP right`, where either side may be a typeof expression, a literal or a dotted name
const COMPARISON = /(typeof\s+)?([\w$.]+)\s*[!=]==?\s*(typeof\s+[\w$.]+|'[^']*'|"[^"]*"|[\w$.]+)/g;
const SECRET_NAME = /(csrf|mac|secret|token|binding|signature|confounder|digest)$/i;
const HARMLESS = /^(null|undefined|true|false|'.*'|".*"|\d+)$/;

/** Lines that compare a secret-looking value with === / !== (a timing side channel). */
function suspiciousLines(source: string): string[] {
  return source.split('\n').filter((line) => {
    if (/^\s*(\/\/|\*|\/\*)/.test(line)) return false;
    for (const [, typeofLeft, left = '', right = ''] of line.matchAll(COMPARISON)) {
      if (typeofLeft || right.startsWith('typeof') || HARMLESS.test(left) || HARMLESS.test(right)) continue;
      if (left.endsWith('.length') || right.endsWith('.length')) continue;
      const name = (operand: string) => operand.split('.').at(-1) ?? '';
      if (SECRET_NAME.test(name(left)) || SECRET_NAME.test(name(right))) return true;
    }
    return false;
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

describe('constant-time comparison of secrets', () => {
  it('the gate itself flags === on secrets and lets harmless comparisons pass', () => {
    for (const bad of ['if (presentedCsrf === expectedCsrf) ok();', 'return token !== storedToken;', 'if (a.signature == b)', 'const same = mac === other;', 'if (cookie.confounder !== row.confounder)']) {
      assert.equal(suspiciousLines(bad).length, 1, bad);
    }
    for (const good of ["if (typeof presentedCsrf !== 'string') x();", "if (token === '') return;", 'if (binding === undefined) return;', 'if (mac.length === 32) y();', 'macEquals(expectedMac, presented)', 'const machine = a === b;']) {
      assert.deepEqual(suspiciousLines(good), [], good);
    }
  });

  it('no source file compares CSRF tokens, MACs, secrets, signatures or confounders with === / !==', () => {
    const offenders = sourceFiles(join(process.cwd(), 'src')).flatMap((file) => suspiciousLines(readFileSync(file, 'utf8')).map((line) => `${file}: ${line.trim()}`));
    assert.deepEqual(offenders, []);
  });

  it('the login context and CSRF checks go through the constant-time helpers', () => {
    const csrf = readFileSync(join(process.cwd(), 'src/http/csrf.ts'), 'utf8');
    const context = readFileSync(join(process.cwd(), 'src/login/login-context.ts'), 'utf8');
    assert.match(csrf, /macEquals\(/);
    assert.match(context, /macEquals\(/);
    assert.match(context, /constantTimeEquals\(/);
  });

  it('macEquals: equal → true; any difference, any length, garbage → false, never a throw', () => {
    const key = Buffer.alloc(32, 3);
    const mac = hmac(key, 'csrf', 'login', 'binding');
    const encoded = mac.toString('base64url');
    assert.equal(macEquals(mac, encoded), true);
    assert.equal(macEquals(mac, encoded.slice(0, -1)), false);
    assert.equal(macEquals(mac, `${encoded}A`), false);
    assert.equal(macEquals(mac, ''), false);
    assert.equal(macEquals(mac, '!!!not base64!!!'), false);
    assert.equal(macEquals(mac, hmac(key, 'csrf', 'logout', 'binding').toString('base64url')), false);
    assert.equal(macEquals(mac, 'A'.repeat(100_000)), false);
  });

  it('macEquals accepts only the canonical encoding (Node decodes many strings to the same bytes)', () => {
    const key = Buffer.alloc(32, 4);
    const mac = hmac(key, 'csrf', 'login', 'binding');
    const encoded = mac.toString('base64url');
    const last = encoded.at(-1)!;
    // the last of 43 characters carries 4 bits of data and 2 ignored bits
    const sameBits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').filter((c) => c !== last && Buffer.from(encoded.slice(0, -1) + c, 'base64url').equals(mac));
    assert.ok(sameBits.length > 0, 'the decoder really is lenient');
    for (const variant of [`${encoded}=`, `${encoded.slice(0, 10)}!${encoded.slice(10)}`, `${encoded.slice(0, 10)} ${encoded.slice(10)}`, `${encoded.slice(0, 10)}\n${encoded.slice(10)}`, ...sameBits.map((c) => encoded.slice(0, -1) + c)]) {
      assert.ok(Buffer.from(variant, 'base64url').equals(mac), 'decodes to the same bytes');
      assert.equal(macEquals(mac, variant), false, JSON.stringify(variant));
    }
    assert.equal(macEquals(mac, encoded), true);
  });

  it('hmac length-prefixes its parts, so moving a boundary changes the MAC', () => {
    const key = Buffer.alloc(32, 5);
    assert.notDeepEqual(hmac(key, 'ab', 'c'), hmac(key, 'a', 'bc'));
    assert.notDeepEqual(hmac(key, 'csrf', 'login', 'x'), hmac(key, 'csrf', 'loginx'));
    assert.notDeepEqual(hmac(key, 'a'), hmac(Buffer.alloc(32, 6), 'a'));
    assert.deepEqual(hmac(key, 'a', 'b'), hmac(key, 'a', 'b'));
  });

  it('constantTimeEquals handles different lengths without throwing', () => {
    assert.equal(constantTimeEquals('binding-one', 'binding-one'), true);
    assert.equal(constantTimeEquals('binding-one', 'binding-on'), false);
    assert.equal(constantTimeEquals('', 'x'.repeat(10_000)), false);
    assert.equal(constantTimeEquals('é', 'e\u0301'), false);
  });
});
