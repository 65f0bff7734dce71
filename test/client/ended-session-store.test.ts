import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createMemoryEndedSessionStore, isSessionEnded, type AppSession } from '../../src/client/index.ts';
import { T0_MS, fakeClock, randomSid } from './helpers.ts';

function sessionWith(sid: string | undefined, created: number): AppSession {
  const identity = { kind: 'user' as const, username: 'alice', flavor: 'basic' as const, authTime: created / 1000, amr: ['pwd'], jti: 'j'.repeat(22) };
  return { v: 1, identity: sid === undefined ? identity : { ...identity, sid }, created, lastSeen: created, forced: false };
}

describe('createMemoryEndedSessionStore', () => {
  it('knows nothing of a sid until it is ended, then reports when', () => {
    const clock = fakeClock();
    const store = createMemoryEndedSessionStore({ now: clock.now });
    const sid = randomSid();
    assert.equal(store.endedAt(sid), null);
    store.end(sid, T0_MS + 5_000, T0_MS + 60_000);
    assert.equal(store.endedAt(sid), T0_MS + 5_000);
    assert.equal(store.endedAt(randomSid()), null, 'other sids are untouched');
  });

  it('never moves an end backwards', () => {
    const store = createMemoryEndedSessionStore({ now: fakeClock().now });
    const sid = randomSid();
    store.end(sid, T0_MS + 9_000, T0_MS + 60_000);
    store.end(sid, T0_MS + 1_000, T0_MS + 30_000);
    assert.equal(store.endedAt(sid), T0_MS + 9_000);
  });

  it('forgets an end once every session it covers has expired, and sweeps the entry', () => {
    const clock = fakeClock();
    const store = createMemoryEndedSessionStore({ now: clock.now, purgeIntervalMs: 1_000 });
    const shortLived = randomSid();
    const longLived = randomSid();
    store.end(shortLived, clock.now(), clock.now() + 10_000);
    store.end(longLived, clock.now(), clock.now() + 100_000);
    assert.equal(store.size, 2);
    clock.advance(10);
    assert.equal(store.endedAt(shortLived), null);
    assert.equal(store.size, 1, 'the forgotten entry was swept');
    assert.equal(store.endedAt(longLived), T0_MS);
  });
});

describe('isSessionEnded', () => {
  const sid = randomSid();

  it('ends sessions with the sid created at or before the end, not later ones', () => {
    assert.equal(isSessionEnded(sessionWith(sid, T0_MS - 1), T0_MS), true);
    assert.equal(isSessionEnded(sessionWith(sid, T0_MS), T0_MS), true);
    assert.equal(isSessionEnded(sessionWith(sid, T0_MS + 1), T0_MS), false);
  });

  it('never ends a session without a sid, or one whose sid never ended', () => {
    assert.equal(isSessionEnded(sessionWith(undefined, T0_MS), T0_MS), false);
    assert.equal(isSessionEnded(sessionWith(sid, T0_MS), null), false);
  });
});
