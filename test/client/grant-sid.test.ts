import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { createAppSessionCodec, createGrantVerifier, newAppSession, type AppSession } from '../../src/client/index.ts';
import { createSignedCookieCodec } from '../../src/client/signed-cookie.ts';
import { APP_ID, ISSUER, T0_MS, localJwks, machineClaims, makeKey, randomSid, signGrant, userClaims, withClaims, type TestKey } from './helpers.ts';

const NONCE = 'sid-test-nonce-abcdefghijklmnop';
const SECRET = 'x'.repeat(32);
const limits = { idleSeconds: 1800, maxSeconds: 28800 };

let key: TestKey;
before(async () => {
  key = await makeKey('EdDSA', 'sid-key');
});

function verifier() {
  return createGrantVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(key), now: () => T0_MS });
}

describe('the sid claim of grants', () => {
  it('reaches the identity, for people and for kiosk machines', async () => {
    const sid = randomSid();
    const user = await verifier().verify(await signGrant(key, withClaims(NONCE, { sid })), { expectedNonce: NONCE });
    assert.ok(user.ok);
    assert.equal(user.identity.sid, sid);
    const machineSid = randomSid();
    const machine = await verifier().verify(await signGrant(key, withClaims(NONCE, { sid: machineSid }, machineClaims(NONCE))), { expectedNonce: NONCE });
    assert.ok(machine.ok);
    assert.equal(machine.identity.sid, machineSid);
  });

  it('is optional: a grant from an older webiso still verifies, without a sid', async () => {
    const result = await verifier().verify(await signGrant(key, withClaims(NONCE, { sid: undefined })), { expectedNonce: NONCE });
    assert.ok(result.ok);
    assert.equal('sid' in result.identity, false);
  });

  it('is refused when malformed, since it becomes a store key', async () => {
    for (const sid of ['short', 'x'.repeat(65), `${'a'.repeat(30)}.dot`, 42]) {
      const result = await verifier().verify(await signGrant(key, withClaims(NONCE, { sid })), { expectedNonce: NONCE });
      assert.equal(result.ok ? 'ok' : `${result.error.code}:${result.error.claim}`, 'grant_invalid_claims:sid', String(sid));
    }
  });

  it('is kept in the app session cookie, and a cookie with a malformed one reads as no session', async () => {
    const sid = randomSid();
    const result = await verifier().verify(await signGrant(key, { ...userClaims(NONCE), sid }), { expectedNonce: NONCE });
    assert.ok(result.ok);
    const codec = createAppSessionCodec(SECRET, limits);
    const session = newAppSession(result.identity, T0_MS, false);
    const check = codec.open(codec.seal(session), T0_MS);
    assert.equal(check.status === 'valid' && check.session.identity.sid, sid);
    const forged: AppSession = { ...session, identity: { ...session.identity, sid: 'not a sid' } };
    const sealedWithBadSid = createSignedCookieCodec(SECRET, 'app-session').seal(forged);
    assert.equal(codec.open(sealedWithBadSid, T0_MS).status, 'invalid');
  });
});
