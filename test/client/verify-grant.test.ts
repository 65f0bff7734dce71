import { strict as assert } from 'node:assert';
import { describe, it, before } from 'node:test';
import { exportSPKI, SignJWT } from 'jose';
import { createGrantVerifier, createMemoryReplayStore, type GrantVerifierOptions, type ReplayStore, type WebisoClientErrorCode } from '../../src/client/index.ts';
import {
  APP_ID,
  ISSUER,
  T0,
  T0_MS,
  localJwks,
  machineClaims,
  makeKey,
  rawJws,
  signGrant,
  userClaims,
  withClaims,
  type TestKey,
} from './helpers.ts';

const NONCE = 'n0nce-abcdefghijklmnopqrstuvwxyz';

let ed: TestKey;
let es: TestKey;
let stranger: TestKey;

before(async () => {
  ed = await makeKey('EdDSA', 'ed-1');
  es = await makeKey('ES256', 'es-1');
  // Same kid as `ed` but a different key: what a forger would try.
  stranger = await makeKey('EdDSA', 'ed-1');
});

function verifier(overrides: Partial<GrantVerifierOptions> = {}) {
  return createGrantVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(ed, es), now: () => T0_MS, ...overrides });
}

function tamperPayload(token: string, change: Record<string, unknown>): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, ...change })).toString('base64url');
  return `${header}.${forged}.${signature}`;
}

function flipSignature(token: string): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

describe('verify: valid grants', () => {
  it('accepts a user grant (EdDSA)', async () => {
    const result = await verifier().verify(await signGrant(ed, userClaims(NONCE)), { expectedNonce: NONCE });
    assert.equal(result.ok, true);
    if (!result.ok) return;
    assert.equal(result.identity.kind, 'user');
    if (result.identity.kind !== 'user') return;
    assert.equal(result.identity.username, 'alice');
    assert.equal(result.identity.flavor, 'basic');
    assert.deepEqual(result.identity.amr, ['pwd']);
    assert.equal(result.identity.authTime, T0 - 30);
    assert.equal(result.identity.claims.aud, APP_ID);
  });

  it('accepts a machine grant and exposes fqdn, not a username', async () => {
    const result = await verifier().verify(await signGrant(ed, machineClaims(NONCE)), { expectedNonce: NONCE });
    assert.equal(result.ok, true);
    if (!result.ok || result.identity.kind !== 'machine') return assert.fail('expected a machine identity');
    assert.equal(result.identity.fqdn, 'kiosk-1.lib.example.edu');
    assert.deepEqual(result.identity.entitlements, ['print', 'catalog']);
    assert.equal('username' in result.identity, false);
  });

  it('accepts an ES256 grant', async () => {
    const result = await verifier().verify(await signGrant(es, userClaims(NONCE)), { expectedNonce: NONCE });
    assert.equal(result.ok, true);
  });

  it('accepts iat slightly in the future, within the clock skew', async () => {
    const result = await verifier().verify(await signGrant(ed, userClaims(NONCE, T0 + 4)), { expectedNonce: NONCE });
    assert.equal(result.ok, true);
  });

  it('accepts a getcred grant and reports target and creds_hash', async () => {
    const claims = withClaims(NONCE, { flavor: 'getcred', target: 'imap.example.edu', creds_hash: 'aGFzaA' });
    const result = await verifier().verify(await signGrant(ed, claims), { expectedNonce: NONCE, expectedTarget: 'imap.example.edu' });
    assert.equal(result.ok, true);
    if (!result.ok) return;
    assert.deepEqual(result.identity.getcred, { target: 'imap.example.edu', credsHash: 'aGFzaA' });
  });
});

interface NegativeCase {
  name: string;
  grant: () => Promise<unknown> | unknown;
  code: WebisoClientErrorCode;
  options?: Partial<GrantVerifierOptions>;
  expectedNonce?: string;
  expectedFlavor?: 'basic' | 'getcred' | 'machineoruser';
}

const negativeCases: NegativeCase[] = [
  { name: 'missing grant (undefined)', grant: () => undefined, code: 'grant_missing' },
  { name: 'missing grant (empty string)', grant: () => '', code: 'grant_missing' },
  { name: 'not a JWS', grant: () => 'not-a-jwt', code: 'grant_malformed' },
  { name: 'three garbage segments', grant: () => 'a.b.c', code: 'grant_malformed' },
  { name: 'wrong audience', grant: () => signGrant(ed, withClaims(NONCE, { aud: 'other-app' })), code: 'grant_wrong_audience' },
  { name: 'audience array including ours', grant: () => signGrant(ed, withClaims(NONCE, { aud: [APP_ID, 'other-app'] })), code: 'grant_wrong_audience' },
  { name: 'wrong issuer', grant: () => signGrant(ed, withClaims(NONCE, { iss: 'https://evil.example' })), code: 'grant_wrong_issuer' },
  { name: 'issuer differing by a trailing slash', grant: () => signGrant(ed, withClaims(NONCE, { iss: `${ISSUER}/` })), code: 'grant_wrong_issuer' },
  { name: 'wrong typ', grant: () => signGrant(ed, userClaims(NONCE), { typ: 'JWT' }), code: 'grant_wrong_type' },
  { name: 'missing typ', grant: () => signGrant(ed, userClaims(NONCE), { typ: undefined }), code: 'grant_wrong_type' },
  { name: 'expired (now past exp + skew)', grant: () => signGrant(ed, userClaims(NONCE, T0 - 66)), code: 'grant_expired' },
  { name: 'iat in the future beyond skew', grant: () => signGrant(ed, userClaims(NONCE, T0 + 30)), code: 'grant_not_yet_valid' },
  {
    name: 'too old (iat beyond maxAge, exp still ahead)',
    grant: () => signGrant(ed, withClaims(NONCE, { iat: T0 - 200, exp: T0 + 60 })),
    code: 'grant_too_old',
  },
  { name: 'tampered payload', grant: async () => tamperPayload(await signGrant(ed, userClaims(NONCE)), { sub: 'root' }), code: 'grant_signature_invalid' },
  { name: 'tampered signature', grant: async () => flipSignature(await signGrant(ed, userClaims(NONCE))), code: 'grant_signature_invalid' },
  { name: 'signed by another key under a known kid', grant: () => signGrant(stranger, userClaims(NONCE)), code: 'grant_signature_invalid' },
  {
    name: 'alg none (hand-crafted)',
    grant: () => rawJws({ alg: 'none', kid: 'ed-1', typ: 'webiso-grant+jwt' }, userClaims(NONCE)),
    code: 'grant_wrong_algorithm',
  },
  {
    name: 'HS256 keyed with the public key bytes',
    grant: async () => {
      const secret = new TextEncoder().encode(await exportSPKI(ed.publicKey));
      return new SignJWT(userClaims(NONCE)).setProtectedHeader({ alg: 'HS256', kid: 'ed-1', typ: 'webiso-grant+jwt' }).sign(secret);
    },
    code: 'grant_wrong_algorithm',
  },
  {
    name: 'ES256 when only EdDSA is allowed',
    grant: () => signGrant(es, userClaims(NONCE)),
    options: { algorithms: ['EdDSA'] },
    code: 'grant_wrong_algorithm',
  },
  { name: 'unknown kid', grant: () => signGrant(ed, userClaims(NONCE), { kid: 'retired-key' }), code: 'grant_unknown_key' },
  { name: 'no kid', grant: () => signGrant(ed, userClaims(NONCE), { kid: undefined }), code: 'grant_malformed' },
  { name: 'user with empty sub', grant: () => signGrant(ed, withClaims(NONCE, { sub: '' })), code: 'grant_invalid_claims' },
  { name: 'user with a machineFQDN', grant: () => signGrant(ed, withClaims(NONCE, { machineFQDN: 'kiosk-1.example.edu' })), code: 'grant_invalid_claims' },
  {
    name: 'machine with a non-empty sub',
    grant: () => signGrant(ed, withClaims(NONCE, { sub: 'alice' }, machineClaims(NONCE))),
    code: 'grant_invalid_claims',
  },
  {
    name: 'machine without machineFQDN',
    grant: () => signGrant(ed, withClaims(NONCE, { machineFQDN: undefined }, machineClaims(NONCE))),
    code: 'grant_invalid_claims',
  },
  {
    name: 'machine without entitlements',
    grant: () => signGrant(ed, withClaims(NONCE, { entitlements: undefined }, machineClaims(NONCE))),
    code: 'grant_invalid_claims',
  },
  {
    name: 'machine from the basic flavor',
    grant: () => signGrant(ed, withClaims(NONCE, { flavor: 'basic' }, machineClaims(NONCE))),
    code: 'grant_invalid_claims',
  },
  { name: 'missing kind', grant: () => signGrant(ed, withClaims(NONCE, { kind: undefined })), code: 'grant_invalid_claims' },
  { name: 'unknown kind', grant: () => signGrant(ed, withClaims(NONCE, { kind: 'admin' })), code: 'grant_invalid_claims' },
  { name: 'missing jti', grant: () => signGrant(ed, withClaims(NONCE, { jti: undefined })), code: 'grant_invalid_claims' },
  { name: 'short jti', grant: () => signGrant(ed, withClaims(NONCE, { jti: 'abc' })), code: 'grant_invalid_claims' },
  { name: 'amr not an array', grant: () => signGrant(ed, withClaims(NONCE, { amr: 'pwd' })), code: 'grant_invalid_claims' },
  { name: 'unknown flavor', grant: () => signGrant(ed, withClaims(NONCE, { flavor: 'deluxe' })), code: 'grant_invalid_claims' },
  { name: 'getcred without target', grant: () => signGrant(ed, withClaims(NONCE, { flavor: 'getcred', creds_hash: 'x' })), code: 'grant_invalid_claims' },
  { name: 'auth_time in the future', grant: () => signGrant(ed, withClaims(NONCE, { auth_time: T0 + 600 })), code: 'grant_invalid_claims' },
  { name: 'nonce mismatch', grant: () => signGrant(ed, userClaims('some-other-nonce')), code: 'grant_nonce_mismatch' },
  { name: 'empty expected nonce', grant: () => signGrant(ed, userClaims(NONCE)), expectedNonce: '', code: 'grant_nonce_mismatch' },
  {
    name: 'flavor differs from the requested one',
    grant: () => signGrant(ed, userClaims(NONCE)),
    expectedFlavor: 'machineoruser',
    code: 'grant_wrong_flavor',
  },
];

describe('verify: negative cases', () => {
  for (const testCase of negativeCases) {
    it(`rejects ${testCase.name} with ${testCase.code}`, async () => {
      const grant = await testCase.grant();
      const result = await verifier(testCase.options).verify(grant, {
        expectedNonce: testCase.expectedNonce ?? NONCE,
        ...(testCase.expectedFlavor ? { expectedFlavor: testCase.expectedFlavor } : {}),
      });
      assert.equal(result.ok, false, 'should be rejected');
      if (result.ok) return;
      assert.equal(result.error.code, testCase.code, result.error.message);
      assert.equal(result.error.name, 'WebisoClientError');
    });
  }
});

describe('verify: single use (jti burning)', () => {
  it('rejects the second presentation of a grant', async () => {
    const v = verifier();
    const grant = await signGrant(ed, userClaims(NONCE));
    assert.equal((await v.verify(grant, { expectedNonce: NONCE })).ok, true);
    const second = await v.verify(grant, { expectedNonce: NONCE });
    assert.equal(second.ok ? 'ok' : second.error.code, 'grant_replayed');
  });

  it('lets exactly one of 50 concurrent verifications win', async () => {
    const v = verifier();
    const grant = await signGrant(ed, userClaims(NONCE));
    const results = await Promise.all(Array.from({ length: 50 }, () => v.verify(grant, { expectedNonce: NONCE })));
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.equal(results.filter((r) => !r.ok && r.error.code === 'grant_replayed').length, 49);
  });

  it('also holds with an asynchronous store', async () => {
    const inner = createMemoryReplayStore({ now: () => T0_MS });
    const store: ReplayStore = { consume: async (jti, exp) => inner.consume(jti, exp) };
    const v = verifier({ replayStore: store });
    const grant = await signGrant(ed, userClaims(NONCE));
    const results = await Promise.all(Array.from({ length: 50 }, () => v.verify(grant, { expectedNonce: NONCE })));
    assert.equal(results.filter((r) => r.ok).length, 1);
  });

  it('burns the jti even when our own checks fail (nonce mismatch)', async () => {
    const v = verifier();
    const grant = await signGrant(ed, userClaims(NONCE));
    const first = await v.verify(grant, { expectedNonce: 'wrong-nonce' });
    assert.equal(first.ok ? 'ok' : first.error.code, 'grant_nonce_mismatch');
    const second = await v.verify(grant, { expectedNonce: NONCE });
    assert.equal(second.ok ? 'ok' : second.error.code, 'grant_replayed');
  });

  it('burns the jti when a signed grant fails a jose claim check (audience)', async () => {
    // jose verifies the signature before any claim, so an audience failure means webiso signed it.
    const store = createMemoryReplayStore({ now: () => T0_MS });
    const grant = await signGrant(ed, userClaims(NONCE));
    const otherApp = await verifier({ appId: 'other-app', replayStore: store }).verify(grant, { expectedNonce: NONCE });
    assert.equal(otherApp.ok ? 'ok' : otherApp.error.code, 'grant_wrong_audience');
    const ours = await verifier({ replayStore: store }).verify(grant, { expectedNonce: NONCE });
    assert.equal(ours.ok ? 'ok' : ours.error.code, 'grant_replayed');
  });

  it('does not burn the jti of a grant whose signature failed', async () => {
    const v = verifier();
    const grant = await signGrant(ed, userClaims(NONCE));
    const forged = flipSignature(grant);
    const rejected = await v.verify(forged, { expectedNonce: NONCE });
    assert.equal(rejected.ok ? 'ok' : rejected.error.code, 'grant_signature_invalid');
    assert.equal((await v.verify(grant, { expectedNonce: NONCE })).ok, true);
  });

  it('fails closed when the replay store throws', async () => {
    const store: ReplayStore = {
      consume: () => {
        throw new Error('redis down');
      },
    };
    const result = await verifier({ replayStore: store }).verify(await signGrant(ed, userClaims(NONCE)), { expectedNonce: NONCE });
    assert.equal(result.ok ? 'ok' : result.error.code, 'replay_store_unavailable');
  });

  it('remembers the jti for the whole acceptance window', async () => {
    const seen: number[] = [];
    const store: ReplayStore = {
      consume: (_jti, expiresAtMs) => {
        seen.push(expiresAtMs);
        return true;
      },
    };
    await verifier({ replayStore: store }).verify(await signGrant(ed, userClaims(NONCE)), { expectedNonce: NONCE });
    // exp = T0 + 60 and skew 5 s: the grant passes the time checks until just before T0 + 65 s.
    assert.ok((seen[0] ?? 0) >= (T0 + 65) * 1000);
  });
});

describe('createGrantVerifier: configuration', () => {
  it('refuses symmetric algorithms', () => {
    assert.throws(() =>
      createGrantVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(ed), algorithms: ['HS256' as 'EdDSA'] }),
    );
  });

  it('refuses a plain-http JWKS URL off loopback', () => {
    assert.throws(() => createGrantVerifier({ issuer: 'http://login.example.edu', appId: APP_ID }), /https/);
  });

  it('requires an appId', () => {
    assert.throws(() => createGrantVerifier({ issuer: ISSUER, appId: '', jwks: localJwks(ed) }));
  });
});
