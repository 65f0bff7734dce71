import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createMemoryReplayStore } from '../../src/client/index.ts';
import { fakeClock } from './helpers.ts';

describe('createMemoryReplayStore', () => {
  it('returns true on first use only', () => {
    const clock = fakeClock();
    const store = createMemoryReplayStore({ now: clock.now });
    assert.equal(store.consume('a', clock.now() + 60_000), true);
    assert.equal(store.consume('a', clock.now() + 60_000), false);
    assert.equal(store.consume('b', clock.now() + 60_000), true);
  });

  it('purges expired entries', () => {
    const clock = fakeClock();
    const store = createMemoryReplayStore({ now: clock.now, purgeIntervalMs: 1000 });
    for (let i = 0; i < 100; i += 1) store.consume(`jti-${i}`, clock.now() + 5_000);
    store.consume('long-lived', clock.now() + 600_000);
    assert.equal(store.size, 101);
    clock.advance(10);
    store.consume('trigger', clock.now() + 5_000);
    assert.equal(store.size, 2, 'only long-lived and trigger remain');
    assert.equal(store.consume('long-lived', clock.now() + 600_000), false);
  });
});
