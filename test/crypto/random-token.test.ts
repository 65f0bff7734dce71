import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomToken } from '../../src/crypto/random-token.ts';

describe('randomToken (pooled CSPRNG)', () => {
  it('gives the requested number of bytes in each encoding', () => {
    assert.equal(Buffer.from(randomToken(18), 'base64url').length, 18);
    assert.match(randomToken(18), /^[A-Za-z0-9_-]{24}$/);
    assert.match(randomToken(16, 'base64'), /^[A-Za-z0-9+/]{22}==$/);
    assert.match(randomToken(24, 'hex'), /^[0-9a-f]{48}$/);
  });

  it('never repeats across many pool refills, and the bytes are not all alike', () => {
    const seen = new Set<string>();
    // 4096-byte pool: 20,000 × 32 bytes refills it ~156 times, with tokens spanning the refill edge
    for (let i = 0; i < 20_000; i++) seen.add(randomToken(i % 2 === 0 ? 32 : 13));
    assert.equal(seen.size, 20_000);
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2000; i++) for (const byte of Buffer.from(randomToken(32), 'base64url')) counts[byte]!++;
    // 64,000 bytes over 256 values: ~250 each; a stuck or zeroed pool would put them in a few buckets
    assert.ok(Math.min(...counts) > 150 && Math.max(...counts) < 370, `byte counts ${Math.min(...counts)}–${Math.max(...counts)}`);
  });

  it('refuses a size it cannot serve', () => {
    assert.throws(() => randomToken(0), RangeError);
    assert.throws(() => randomToken(4097), RangeError);
    assert.throws(() => randomToken(1.5), RangeError);
  });
});
