import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultHashConcurrency, WORKER_COUNT_ENV } from '../../src/verifiers/hash-concurrency.ts';

describe('default argon2 concurrency (verifier.maxConcurrentHashes unset)', () => {
  it('leaves a core to the event loop and a libuv thread to the file system and DNS', () => {
    assert.equal(defaultHashConcurrency({}, 1), 1, 'never 0');
    assert.equal(defaultHashConcurrency({}, 2), 1);
    assert.equal(defaultHashConcurrency({}, 3), 2);
    assert.equal(defaultHashConcurrency({}, 8), 3, 'capped at the pool (4) less one');
    assert.equal(defaultHashConcurrency({ UV_THREADPOOL_SIZE: '16' }, 8), 7, 'a larger pool lifts the cap');
    assert.equal(defaultHashConcurrency({ UV_THREADPOOL_SIZE: 'lots' }, 8), 3, 'an unreadable pool size is libuv default');
  });

  it('divides the cores among the workers of one host', () => {
    assert.equal(defaultHashConcurrency({ [WORKER_COUNT_ENV]: '2' }, 2), 1);
    assert.equal(defaultHashConcurrency({ [WORKER_COUNT_ENV]: '8' }, 8), 1);
    assert.equal(defaultHashConcurrency({ [WORKER_COUNT_ENV]: '2', UV_THREADPOOL_SIZE: '16' }, 16), 7);
    assert.equal(defaultHashConcurrency({ [WORKER_COUNT_ENV]: 'x' }, 4), 3, 'an unreadable count is one process');
  });
});
