import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { decodeProtectedHeader } from 'jose';
import pino from 'pino';
import { CACHE_SECONDS } from '../../src/keys/key-cache.ts';
import { createKeysRepository, type KeysRepository } from '../../src/keys/keys-repository.ts';
import { createKeystore } from '../../src/keys/keystore.ts';
import { ALICE_PASSWORD, attemptLogin, CookieJar, createTestApp, fakeClock, grantOf, HTML, loginQuery } from '../support/webiso.ts';

const GRACE_SECONDS = 60 + 300;

async function ssoGrantKid(app: FastifyInstance, jar: CookieJar): Promise<string | undefined> {
  const response = await app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: { ...HTML, ...jar.header() } });
  const grant = grantOf(response.body);
  assert.ok(grant, response.body.slice(0, 300));
  return decodeProtectedHeader(grant).kid;
}

/** A real repository whose reads can be made to fail, as a store that went away would. */
function breakableRepository(repository: KeysRepository) {
  const state = { failing: false, reads: 0 };
  const wrapped: KeysRepository = {
    ...repository,
    async all() {
      state.reads += 1;
      if (state.failing) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      return repository.all();
    },
  };
  return { repository: wrapped, state };
}

function capturingLogger(): { log: FastifyBaseLogger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'warn' }, stream) as unknown as FastifyBaseLogger, lines };
}

describe('the signing key cache', () => {
  it(`a rotation by another process is signed with within ${CACHE_SECONDS} s of real time, read by the background refresh alone`, async () => {
    assert.equal(CACHE_SECONDS, 5);
    const t = await createTestApp();
    try {
      const { jar } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      const before = await ssoGrantKid(t.app, jar);
      const other = createKeystore({ repository: createKeysRepository(t.app.webiso.store.db), now: Date.now, retiredKeyGraceSeconds: GRACE_SECONDS });
      const rotatedKid = await other.rotate('grant', 'EdDSA');
      other.close();
      assert.notEqual(before, rotatedKid);
      // no request in between: only the timer can have read the keys again
      await new Promise((resolve) => setTimeout(resolve, CACHE_SECONDS * 1000 + 500));
      assert.equal(await ssoGrantKid(t.app, jar), rotatedKid, "the other process's key signs the grants");
    } finally {
      await t.close();
    }
  });

  it('a stale cache still signs at once; a failed refresh keeps the last keys, is logged and retried', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    const { repository, state } = breakableRepository(createKeysRepository(t.app.webiso.store.db));
    const keystore = createKeystore({ repository, now: clock.now, retiredKeyGraceSeconds: GRACE_SECONDS });
    const { log, lines } = capturingLogger();
    keystore.setLogger(log);
    try {
      await keystore.ensureKey('grant', 'EdDSA');
      const first = keystore.activeSigner('grant').kid;
      const rotated = await t.app.webiso.keystore.rotate('grant', 'EdDSA');

      state.failing = true;
      clock.advance(CACHE_SECONDS);
      const readsBefore = state.reads;
      // stale: answered from memory, the refresh starts behind it (and fails)
      assert.equal(keystore.activeSigner('grant').kid, first);
      assert.ok(keystore.publicJwks('grant').keys.some((key) => key.kid === first));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(state.reads, readsBefore + 1, 'one refresh was tried');
      assert.equal(keystore.activeSigner('grant').kid, first, 'the last keys stay in use');
      assert.ok(lines.some((line) => line.event === 'keys.refresh_failed' && (line.err as { code?: string }).code === 'ECONNREFUSED'), JSON.stringify(lines));
      // async readers fall back to the last keys too
      assert.equal((await keystore.activeKey('grant')).kid, first);

      state.failing = false;
      assert.equal(keystore.activeSigner('grant').kid, first, 'still stale: the retry starts behind this answer');
      assert.ok(state.reads > readsBefore + 1, 'the failed refresh is tried again');
      await keystore.refresh();
      assert.equal(keystore.activeSigner('grant').kid, rotated);
    } finally {
      keystore.close();
      await t.close();
    }
  });

  it('rotate() on this process signs with the new key at once, without waiting for the cache period', async () => {
    const clock = fakeClock();
    const t = await createTestApp({ now: clock.now });
    try {
      const before = t.app.webiso.keystore.activeSigner('grant').kid;
      const rotated = await t.app.webiso.keystore.rotate('grant', 'EdDSA');
      assert.notEqual(rotated, before);
      assert.equal(t.app.webiso.keystore.activeSigner('grant').kid, rotated);
      assert.deepEqual(t.app.webiso.keystore.publicJwks('grant').keys.map((key) => key.kid).sort(), [before, rotated].sort());
    } finally {
      await t.close();
    }
  });

  it('two hosts creating the first key at once end with one active key, which both sign with after a refresh', async () => {
    const t = await createTestApp();
    try {
      const db = t.app.webiso.store.db;
      await db.deleteFrom('signing_keys').where('purpose', '=', 'oidc-eddsa').execute();
      // both hosts look before either has written: each finds no key and creates one
      let arrived = 0;
      let bothLooked!: () => void;
      const barrier = new Promise<void>((resolve) => (bothLooked = resolve));
      const host = () => {
        const real = createKeysRepository(db);
        let looked = false;
        const repository: KeysRepository = {
          ...real,
          async byPurpose(purpose) {
            const keys = await real.byPurpose(purpose);
            if (!looked) {
              looked = true;
              if (++arrived === 2) bothLooked();
              await barrier;
            }
            return keys;
          },
        };
        return createKeystore({ repository, now: Date.now, retiredKeyGraceSeconds: GRACE_SECONDS });
      };
      const [a, b] = [host(), host()];
      await Promise.all([a.ensureKey('oidc-eddsa', 'EdDSA'), b.ensureKey('oidc-eddsa', 'EdDSA')]);
      const rows = await db.selectFrom('signing_keys').select(['kid', 'retired_at', 'private_jwk', 'publish_until']).where('purpose', '=', 'oidc-eddsa').execute();
      assert.equal(rows.length, 2, 'both created a key');
      const active = rows.filter((row) => row.retired_at === null);
      assert.equal(active.length, 1);
      const retired = rows.find((row) => row.retired_at !== null)!;
      assert.equal(retired.private_jwk, null);
      assert.ok(retired.publish_until! > Math.floor(Date.now() / 1000), 'the other key stays published for what it may have signed');
      // until its next refresh a host may still sign with the key it created
      const published = (host: typeof a) => host.publicJwks('oidc-eddsa').keys.map((key) => key.kid).sort();
      for (const host of [a, b]) assert.ok(published(host).includes(host.activeSigner('oidc-eddsa').kid));
      // after it (the cache period) both sign with the one active key and publish both keys
      await Promise.all([a.refresh(), b.refresh()]);
      for (const host of [a, b]) {
        assert.equal(host.activeSigner('oidc-eddsa').kid, active[0]!.kid);
        assert.deepEqual(published(host), rows.map((row) => row.kid).sort());
      }
      a.close();
      b.close();
    } finally {
      await t.close();
    }
  });
});
