import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGrantVerifier } from '../../src/client/verify-grant.ts';
import { createLogoutTokenVerifier } from '../../src/client/verify-logout-token.ts';
import { APP_ID, ISSUER, localJwks, makeKey, randomSid, signGrant, T0, T0_MS, userClaims, userGrant, userLogoutClaims } from './helpers.ts';

/** A relying app whose clock is off from webiso's: within its configured skew it verifies, beyond it refuses with a clear code. */
describe('client: clock skew between the app and webiso', () => {
  for (const offsetSeconds of [60, -60]) {
    it(`an app clock ${offsetSeconds > 0 ? 'a minute ahead' : 'a minute behind'} verifies grants and logout tokens with clockSkewSeconds: 90`, async () => {
      const key = await makeKey();
      const now = () => T0_MS + offsetSeconds * 1000;
      const skewed = createGrantVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(key), now, clockSkewSeconds: 90 });
      const grant = await userGrant(key, 'nonce-skew');
      const result = await skewed.verify(grant, { expectedNonce: 'nonce-skew' });
      assert.equal(result.ok, true, result.ok ? '' : result.error.code);

      // with the default 5 s skew, a clock off by more than a grant's slack is refused, with a code that says which way
      const strict = createGrantVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(key), now: () => T0_MS + 2 * offsetSeconds * 1000 });
      const refused = await strict.verify(await userGrant(key, 'nonce-skew'), { expectedNonce: 'nonce-skew' });
      assert.equal(refused.ok, false);
      assert.equal(refused.ok ? '' : refused.error.code, offsetSeconds > 0 ? 'grant_expired' : 'grant_not_yet_valid');

      const logout = createLogoutTokenVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(key), now, clockSkewSeconds: 90 });
      const token = await signGrant(key, userLogoutClaims(randomSid(), T0), { typ: 'logout+jwt' });
      const verified = await logout.verify(token);
      assert.equal(verified.ok, true, verified.ok ? '' : verified.error.code);
    });
  }

  it('skew never stretches a grant beyond lifetime plus skew', async () => {
    const key = await makeKey();
    const verifier = createGrantVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(key), now: () => T0_MS + 151_000, clockSkewSeconds: 90 });
    const result = await verifier.verify(await signGrant(key, userClaims('n-late', T0)), { expectedNonce: 'n-late' });
    assert.equal(result.ok, false);
  });
});
