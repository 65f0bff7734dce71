// oidc-provider's adapter over the store: single-use models are consumed by one conditional
// UPDATE, so of two token requests that both found a code unconsumed (on one host or two) only
// one gets to use it; expired rows are invisible and purged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOidcStore, purgeExpiredOidcModels, type OidcStore } from '../../src/oidc/adapter.ts';
import { createTestApp, fakeClock, type TestApp } from '../support/webiso.ts';

class AlreadyConsumed extends Error {}

describe('OIDC adapter', () => {
  let t: TestApp;
  let oidc: OidcStore;
  const clock = fakeClock(Date.now());
  before(async () => {
    t = await createTestApp();
    oidc = createOidcStore(t.app.webiso.store.db, clock.now, { alreadyConsumed: (model) => new AlreadyConsumed(`${model} already used`) });
  });
  after(() => t.close());

  it('consumes a code once: the second of two requests that found it unconsumed is refused', async () => {
    const codes = oidc.adapterFor('AuthorizationCode');
    await codes.upsert('code-1', { grantId: 'grant-1', accountId: 'alice' }, 60);
    const [first, second] = [await codes.find('code-1'), await codes.find('code-1')];
    assert.equal(first?.consumed, undefined);
    assert.equal(second?.consumed, undefined);
    await codes.consume('code-1');
    await assert.rejects(codes.consume('code-1'), (error: unknown) => error instanceof AlreadyConsumed && /AuthorizationCode already used/.test(error.message));
    assert.equal((await codes.find('code-1'))?.consumed, Math.floor(clock.now() / 1000), 'a replay sees `consumed` and revokes the grant');
  });

  it('of 50 concurrent consumes of one code exactly one succeeds', async () => {
    const codes = oidc.adapterFor('AuthorizationCode');
    await codes.upsert('code-2', { grantId: 'grant-2' }, 60);
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => codes.consume('code-2')));
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
    assert.ok(outcomes.every((outcome) => outcome.status === 'fulfilled' || outcome.reason instanceof AlreadyConsumed));
  });

  it('finds by uid, revokes by grant, keeps an upsert\'s consumed mark, and hides then purges what expired', async () => {
    const sessions = oidc.adapterFor('Session');
    await sessions.upsert('session-1', { uid: 'uid-1', accountId: 'alice' }, 60);
    assert.equal((await sessions.findByUid('uid-1'))?.accountId, 'alice');
    const tokens = oidc.adapterFor('AccessToken');
    await tokens.upsert('token-1', { grantId: 'grant-3' }, 60);
    await tokens.upsert('token-2', { grantId: 'grant-4' }, 60);
    await tokens.revokeByGrantId('grant-3');
    assert.equal(await tokens.find('token-1'), undefined);
    assert.equal((await tokens.find('token-2'))?.grantId, 'grant-4', 'another grant\'s token stays');
    await tokens.destroy('token-2');
    assert.equal(await tokens.find('token-2'), undefined);
    const codes = oidc.adapterFor('AuthorizationCode');
    await codes.upsert('code-3', { grantId: 'grant-6' }, 60);
    await codes.consume('code-3');
    await codes.upsert('code-3', { grantId: 'grant-6', scope: 'openid' }, 60);
    assert.equal(typeof (await codes.find('code-3'))?.consumed, 'number', 'saving a consumed code again does not make it usable');

    await tokens.upsert('token-3', { grantId: 'grant-5' }, 30);
    clock.advance(31);
    assert.equal(await tokens.find('token-3'), undefined, 'an expired row is never returned');
    assert.ok((await purgeExpiredOidcModels(t.app.webiso.store.db, Math.floor(clock.now() / 1000))) >= 1);
    const left = await t.app.webiso.store.db.selectFrom('oidc_models').select('id').where('id', '=', 'token-3').execute();
    assert.deepEqual(left, [], 'and housekeeping deletes it');
  });
});
