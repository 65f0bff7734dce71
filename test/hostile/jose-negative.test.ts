import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createLocalJWKSet, type JWK } from 'jose';
import { hasDuplicateKeys } from '../../src/client/strict-json.ts';
import { createGrantVerifier } from '../../src/client/verify-grant.ts';
import { createLogoutTokenVerifier } from '../../src/client/verify-logout-token.ts';
import { checkMachineCookie, MACHINE_TYP, newJti } from '../../src/machines/machine-cookie.ts';
import { KIOSK } from '../support/machines.ts';
import { createHostileApp, fuzzOptions, type HostileApp } from './harness.ts';
import { compact, negativeCorpus } from './jose-corpus.ts';

const ISSUER = 'https://login.example.edu';
const APP_ID = 'app';
const T0 = 1_800_000_000;
const NONCE = 'nonce-123';

function publicJwk(key: KeyObject, kid: string, alg: string): JWK {
  return { ...createPublicKey(key).export({ format: 'jwk' }), kid, alg, use: 'sig' } as JWK;
}

/** The issuer's two published keys (a rotation in progress): the active one and the previous one. */
const active = generateKeyPairSync('ed25519').privateKey;
const previous = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const jwks = createLocalJWKSet({ keys: [publicJwk(active, 'active', 'EdDSA'), publicJwk(previous, 'previous', 'ES256')] });
const verifierOptions = { issuer: ISSUER, appId: APP_ID, jwks, now: () => T0 * 1000 };

const grantClaims = () => ({ iss: ISSUER, aud: APP_ID, sub: 'alice', kind: 'user', flavor: 'basic', nonce: NONCE, iat: T0, exp: T0 + 60, jti: randomBytes(18).toString('base64url'), auth_time: T0 - 5, amr: ['pwd'], sid: randomBytes(32).toString('base64url') });
const logoutClaims = () => ({ iss: ISSUER, aud: APP_ID, sub: 'alice', iat: T0, exp: T0 + 120, jti: randomBytes(18).toString('base64url'), sid: randomBytes(32).toString('base64url'), events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });

const realGrant = () => compact({ alg: 'EdDSA', kid: 'active', typ: 'webiso-grant+jwt' }, grantClaims(), active);
const realLogoutToken = () => compact({ alg: 'EdDSA', kid: 'active', typ: 'logout+jwt' }, logoutClaims(), active);
/** An OpenID Connect ID token from the same issuer and key: it carries a nonce, as grants do. */
const idToken = () => compact({ alg: 'EdDSA', kid: 'active', typ: 'JWT' }, { ...grantClaims(), typ: undefined }, active);

/** Each negative must be refused, quickly (a PBES2 count must not be honoured). */
async function assertAllRefused(label: string, control: string, negatives: ReadonlyArray<readonly [string, string]>, accepts: (token: string) => Promise<boolean>): Promise<void> {
  assert.equal(await accepts(control), true, `${label}: the control token is accepted (the corpus builder works)`);
  const accepted: string[] = [];
  for (const [name, token] of negatives) {
    const started = performance.now();
    if (await accepts(token)) accepted.push(name);
    assert.ok(performance.now() - started < 250, `${label}: ${name} answered within 250 ms`);
  }
  assert.deepEqual(accepted, [], `${label}: forged or confused tokens accepted`);
}

/** The bytes a token carries: a re-encoding of the same bytes (base64url's spare bits) is the same token. */
const decoded = (token: string) => token.split('.').map((segment) => Buffer.from(segment, 'base64url').toString('hex')).join('.');

/** Random edits of a real token: inserted, deleted and replaced characters anywhere. */
const mutated = (token: string) =>
  fc.tuple(fc.nat(token.length), fc.string({ maxLength: 4, unit: fc.constantFrom(...'AZaz09-_.=+/ \u0000{}"') }), fc.nat(4)).map(([at, text, drop]) => token.slice(0, at) + text + token.slice(at + drop));

describe('duplicate JSON member names (regression: verifiers took the last of two "alg" or "exp")', () => {
  it('are found at any depth and whatever the escaping; arrays and distinct names are fine', () => {
    assert.equal(hasDuplicateKeys('{"alg":"none","kid":"k","alg":"EdDSA"}'), true);
    assert.equal(hasDuplicateKeys(String.raw`{"a":1,"\u0061":2}`), true);
    assert.equal(hasDuplicateKeys('{"events":{"x":{},"x":{}}}'), true);
    assert.equal(hasDuplicateKeys('{"amr":["pwd","pwd"],"a":{"b":1},"b":{"a":1},"s":"\\"a\\":"}'), false);
    assert.equal(hasDuplicateKeys('[{"a":1},{"a":1}]'), false);
  });
});

describe('JOSE negative corpus', () => {
  it('fuzzed grants and logout tokens: nothing but the minted bytes is accepted', async () => {
    const grants = createGrantVerifier({ ...verifierOptions, replayStore: { consume: async () => true } });
    const logouts = createLogoutTokenVerifier({ ...verifierOptions, replayStore: { consume: async () => true } });
    const grant = realGrant();
    const logout = realLogoutToken();
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(grant), mutated(logout), fc.string({ maxLength: 400 })), async (token) => {
        const asGrant = (await grants.verify(token, { expectedNonce: NONCE })).ok;
        const asLogout = (await logouts.verify(token)).ok;
        if (asGrant) assert.equal(decoded(token), decoded(grant), `accepted a grant webiso did not mint: ${token}`);
        if (asLogout) assert.equal(decoded(token), decoded(logout), `accepted a logout token webiso did not mint: ${token}`);
      }),
      fuzzOptions,
    );
  });

  it('grants (webiso/client createGrantVerifier)', async () => {
    const verifier = createGrantVerifier(verifierOptions);
    const { control, negatives } = negativeCorpus({
      typ: 'webiso-grant+jwt',
      exactTyp: false,
      claims: grantClaims,
      key: active,
      kid: 'active',
      otherPublishedKid: 'previous',
      nowSeconds: T0,
      otherKinds: [
        ['logout token', realLogoutToken()],
        ['ID token (typ JWT)', idToken()],
      ],
    });
    await assertAllRefused('grant', control, negatives, async (token) => (await verifier.verify(token, { expectedNonce: NONCE })).ok);
  });

  it('logout tokens (webiso/client createLogoutTokenVerifier)', async () => {
    const verifier = createLogoutTokenVerifier(verifierOptions);
    const { control, negatives } = negativeCorpus({
      typ: 'logout+jwt',
      exactTyp: true,
      claims: logoutClaims,
      key: active,
      kid: 'active',
      otherPublishedKid: 'previous',
      nowSeconds: T0,
      otherKinds: [
        ['grant', realGrant()],
        ['grant with typ logout+jwt (it carries a nonce)', compact({ alg: 'EdDSA', kid: 'active', typ: 'logout+jwt' }, grantClaims(), active)],
        ['ID token', idToken()],
      ],
    });
    await assertAllRefused('logout token', control, negatives, async (token) => (await verifier.verify(token)).ok);
  });

  describe('machine cookies (the server, src/machines/machine-cookie.ts and the version table)', () => {
    let t: HostileApp;
    before(async () => {
      t = await createHostileApp();
      // two machine keys: the cookie's and a newer one
      await t.app.webiso.keystore.rotate('machine', 'EdDSA');
    });
    after(async () => t.close());

    it('refuses every negative, and the server grant key cannot stand in for the machine key', async () => {
      const keystore = t.app.webiso.keystore;
      const { kid, key } = await keystore.activeKey('machine');
      const machineKey = KeyObject.from(key);
      const grantKey = await keystore.activeKey('grant');
      const now = Math.floor(t.app.webiso.now() / 1000);
      const claims = () => ({ fqdn: KIOSK, ver: 1, iat: now, exp: now + 86_400, jti: newJti() });
      const presents = async (token: string) => {
        const check = await checkMachineCookie(keystore, token);
        return (await t.app.webiso.machines.present(check, { clientIp: '192.0.2.1', userAgent: undefined, appId: undefined }, t.app.log)).accepted;
      };
      const previousMachineKid = (await t.app.webiso.store.db.selectFrom('signing_keys').select('kid').where('purpose', '=', 'machine').where('kid', '!=', kid).executeTakeFirst())?.kid ?? '';
      const { control, negatives } = negativeCorpus({
        typ: MACHINE_TYP,
        exactTyp: true,
        claims,
        key: machineKey,
        kid,
        otherPublishedKid: previousMachineKid,
        nowSeconds: now,
        otherKinds: [
          ['grant signed by the grant key, machine typ', compact({ alg: 'EdDSA', kid: grantKey.kid, typ: MACHINE_TYP }, claims(), KeyObject.from(grantKey.key))],
          ['machine claims with the grant typ', compact({ alg: 'EdDSA', kid, typ: 'webiso-grant+jwt' }, claims(), machineKey)],
          ['the SSO cookie value', t.alice.cookies.get('__Host-webiso_login') ?? 'x'],
        ],
      });
      await assertAllRefused('machine cookie', control, negatives, presents);
      const minted = t.kiosk.cookies.get('__Host-webiso_machine') ?? '';
      await fc.assert(
        fc.asyncProperty(mutated(minted), async (token) => {
          const check = await checkMachineCookie(keystore, token);
          if (check.authentic) assert.equal(decoded(token), decoded(minted), `accepted a machine cookie webiso did not mint: ${token}`);
        }),
        fuzzOptions,
      );
    });
  });
});
