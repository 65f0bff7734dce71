import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { exportSPKI, SignJWT } from 'jose';
import {
  createGrantVerifier,
  createLogoutTokenVerifier,
  createMemoryReplayStore,
  verifyLogoutToken,
  type LogoutTokenVerifierOptions,
  type WebisoClientErrorCode,
} from '../../src/client/index.ts';
import {
  APP_ID,
  BACKCHANNEL_EVENT,
  ISSUER,
  T0,
  T0_MS,
  localJwks,
  machineLogoutClaims,
  makeKey,
  randomSid,
  rawJws,
  signGrant,
  signLogoutToken,
  userClaims,
  userLogoutClaims,
  withClaims,
  type TestKey,
} from './helpers.ts';

const SID = randomSid();
const NONCE = 'n0nce-abcdefghijklmnopqrstuvwxyz';

let ed: TestKey;
let es: TestKey;

before(async () => {
  ed = await makeKey('EdDSA', 'ed-1');
  es = await makeKey('ES256', 'es-1');
});

function verifier(overrides: Partial<LogoutTokenVerifierOptions> = {}) {
  return createLogoutTokenVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(ed, es), now: () => T0_MS, ...overrides });
}

/** userLogoutClaims with changes; `undefined` deletes a claim. */
function logoutWith(overrides: Record<string, unknown>, base = userLogoutClaims(SID)): Record<string, unknown> {
  return withClaims('', overrides, base);
}

function flipSignature(token: string): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

describe('verifyLogoutToken: valid tokens', () => {
  it('reads a person session logout: sid, username, jti and issue time', async () => {
    const claims = userLogoutClaims(SID);
    const result = await verifier().verify(await signLogoutToken(ed, claims));
    assert.ok(result.ok, result.ok ? '' : result.error.code);
    assert.deepEqual(result.logout, { kind: 'user', username: 'alice', sid: SID, jti: claims.jti, issuedAt: T0 });
  });

  it('reads a kiosk machine session logout, which names the machine and no person', async () => {
    const result = await verifier().verify(await signLogoutToken(ed, machineLogoutClaims(SID)));
    assert.ok(result.ok, result.ok ? '' : result.error.code);
    assert.equal(result.logout.kind, 'machine');
    assert.equal(result.logout.kind === 'machine' && result.logout.fqdn, 'kiosk-1.lib.example.edu');
    assert.equal('username' in result.logout, false);
  });

  it('accepts ES256, and a machine token with an empty sub', async () => {
    assert.equal((await verifier().verify(await signLogoutToken(es, userLogoutClaims(SID)))).ok, true);
    const emptySub = logoutWith({ sub: '' }, machineLogoutClaims(SID));
    assert.equal((await verifier().verify(await signLogoutToken(ed, emptySub))).ok, true);
  });

  it('accepts a token just inside the age limit plus clock skew', async () => {
    const result = await verifier().verify(await signLogoutToken(ed, logoutWith({ iat: T0 - 124, exp: T0 + 60 })));
    assert.equal(result.ok, true);
  });
});

interface NegativeCase {
  name: string;
  token: () => Promise<unknown> | unknown;
  code: WebisoClientErrorCode;
  /** For claim failures: the claim the error must name. */
  claim?: string;
  options?: Partial<LogoutTokenVerifierOptions>;
}

const hs256WithPublicKey = async (): Promise<string> => {
  const secret = new TextEncoder().encode(await exportSPKI(ed.publicKey));
  return new SignJWT(userLogoutClaims(SID)).setProtectedHeader({ alg: 'HS256', kid: 'ed-1', typ: 'logout+jwt' }).sign(secret);
};

const negativeCases: NegativeCase[] = [
  { name: 'no token', token: () => undefined, code: 'logout_token_missing' },
  { name: 'an empty token', token: () => '', code: 'logout_token_missing' },
  { name: 'not a JWS', token: () => 'not-a-jwt', code: 'logout_token_malformed' },
  { name: 'a token over 8 KiB', token: () => 'a'.repeat(9000), code: 'logout_token_malformed' },
  { name: 'a grant presented as a logout token', token: () => signGrant(ed, userClaims(NONCE)), code: 'logout_token_wrong_type' },
  {
    name: "a grant's claims under the logout typ (no events)",
    token: () => signLogoutToken(ed, userClaims(NONCE)),
    code: 'logout_token_invalid_claims',
    claim: 'events',
  },
  { name: 'a nonce', token: () => signLogoutToken(ed, logoutWith({ nonce: NONCE })), code: 'logout_token_invalid_claims', claim: 'nonce' },
  { name: 'no events', token: () => signLogoutToken(ed, logoutWith({ events: undefined })), code: 'logout_token_invalid_claims', claim: 'events' },
  {
    name: 'events without the back-channel key',
    token: () => signLogoutToken(ed, logoutWith({ events: { 'http://schemas.openid.net/event/other': {} } })),
    code: 'logout_token_invalid_claims',
    claim: 'events',
  },
  {
    name: 'the back-channel event with a non-object value',
    token: () => signLogoutToken(ed, logoutWith({ events: { [BACKCHANNEL_EVENT]: true } })),
    code: 'logout_token_invalid_claims',
    claim: 'events',
  },
  { name: 'events as an array', token: () => signLogoutToken(ed, logoutWith({ events: [BACKCHANNEL_EVENT] })), code: 'logout_token_invalid_claims', claim: 'events' },
  { name: 'a wrong aud', token: () => signLogoutToken(ed, logoutWith({ aud: 'other-app' })), code: 'logout_token_wrong_audience' },
  { name: 'an aud array including ours', token: () => signLogoutToken(ed, logoutWith({ aud: [APP_ID, 'other-app'] })), code: 'logout_token_wrong_audience' },
  { name: 'a wrong iss', token: () => signLogoutToken(ed, logoutWith({ iss: 'https://evil.example' })), code: 'logout_token_wrong_issuer' },
  { name: 'an expired token', token: () => signLogoutToken(ed, userLogoutClaims(SID, T0 - 200)), code: 'logout_token_expired' },
  { name: 'an iat too old (exp still ahead)', token: () => signLogoutToken(ed, logoutWith({ iat: T0 - 130, exp: T0 + 60 })), code: 'logout_token_too_old' },
  { name: 'an iat in the future', token: () => signLogoutToken(ed, userLogoutClaims(SID, T0 + 30)), code: 'logout_token_not_yet_valid' },
  { name: 'no exp', token: () => signLogoutToken(ed, logoutWith({ exp: undefined })), code: 'logout_token_invalid_claims', claim: 'exp' },
  { name: 'no iat', token: () => signLogoutToken(ed, logoutWith({ iat: undefined })), code: 'logout_token_invalid_claims', claim: 'iat' },
  { name: 'no jti', token: () => signLogoutToken(ed, logoutWith({ jti: undefined })), code: 'logout_token_invalid_claims', claim: 'jti' },
  { name: 'a short jti', token: () => signLogoutToken(ed, logoutWith({ jti: 'abc' })), code: 'logout_token_invalid_claims', claim: 'jti' },
  { name: 'alg none', token: () => rawJws({ alg: 'none', kid: 'ed-1', typ: 'logout+jwt' }, userLogoutClaims(SID)), code: 'logout_token_wrong_algorithm' },
  { name: 'HS256 keyed with the public key', token: hs256WithPublicKey, code: 'logout_token_wrong_algorithm' },
  { name: 'ES256 when only EdDSA is allowed', token: () => signLogoutToken(es, userLogoutClaims(SID)), options: { algorithms: ['EdDSA'] }, code: 'logout_token_wrong_algorithm' },
  { name: 'a missing sid', token: () => signLogoutToken(ed, logoutWith({ sid: undefined })), code: 'logout_token_invalid_claims', claim: 'sid' },
  { name: 'a short sid', token: () => signLogoutToken(ed, logoutWith({ sid: 'abc' })), code: 'logout_token_invalid_claims', claim: 'sid' },
  { name: 'a sid that is not base64url', token: () => signLogoutToken(ed, logoutWith({ sid: `${SID.slice(0, 30)}/+=` })), code: 'logout_token_invalid_claims', claim: 'sid' },
  { name: 'typ JWT', token: () => signLogoutToken(ed, userLogoutClaims(SID), { typ: 'JWT' }), code: 'logout_token_wrong_type' },
  { name: 'no typ', token: () => signLogoutToken(ed, userLogoutClaims(SID), { typ: undefined }), code: 'logout_token_wrong_type' },
  {
    name: 'typ application/logout+jwt (not the exact spelling)',
    token: () => signLogoutToken(ed, userLogoutClaims(SID), { typ: 'application/logout+jwt' }),
    code: 'logout_token_wrong_type',
  },
  { name: 'a tampered signature', token: async () => flipSignature(await signLogoutToken(ed, userLogoutClaims(SID))), code: 'logout_token_signature_invalid' },
  { name: 'an unknown kid', token: () => signLogoutToken(ed, userLogoutClaims(SID), { kid: 'retired' }), code: 'logout_token_unknown_key' },
  { name: 'no kid', token: () => signLogoutToken(ed, userLogoutClaims(SID), { kid: undefined }), code: 'logout_token_malformed' },
  { name: 'a person session without sub', token: () => signLogoutToken(ed, logoutWith({ sub: undefined })), code: 'logout_token_invalid_claims', claim: 'sub' },
  { name: 'a person session naming a machine', token: () => signLogoutToken(ed, logoutWith({ machineFQDN: 'kiosk-1.lib.example.edu' })), code: 'logout_token_invalid_claims', claim: 'machineFQDN' },
  {
    name: 'a machine session with a sub',
    token: () => signLogoutToken(ed, logoutWith({ sub: 'bob' }, machineLogoutClaims(SID))),
    code: 'logout_token_invalid_claims',
    claim: 'sub',
  },
  {
    name: 'a machine session without machineFQDN',
    token: () => signLogoutToken(ed, logoutWith({ machineFQDN: undefined }, machineLogoutClaims(SID))),
    code: 'logout_token_invalid_claims',
    claim: 'machineFQDN',
  },
  { name: 'an unknown kind', token: () => signLogoutToken(ed, logoutWith({ kind: 'admin' })), code: 'logout_token_invalid_claims', claim: 'kind' },
];

describe('verifyLogoutToken: the negative corpus', () => {
  for (const testCase of negativeCases) {
    it(`refuses ${testCase.name} with ${testCase.code}${testCase.claim ? ` (${testCase.claim})` : ''}`, async () => {
      const result = await verifier(testCase.options).verify(await testCase.token());
      assert.equal(result.ok, false, 'should be refused');
      if (result.ok) return;
      assert.equal(result.error.code, testCase.code, result.error.message);
      if (testCase.claim !== undefined) assert.equal(result.error.claim, testCase.claim);
    });
  }

  it('a logout token presented to the grant verifier is refused as grant_wrong_type', async () => {
    const grants = createGrantVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(ed), now: () => T0_MS });
    const result = await grants.verify(await signLogoutToken(ed, userLogoutClaims(SID)), { expectedNonce: NONCE });
    assert.equal(result.ok ? 'ok' : result.error.code, 'grant_wrong_type');
  });

  it('answers jwks_unavailable when the key set cannot be fetched', async () => {
    const unavailable = verifier({ jwks: () => Promise.reject(new Error('connection refused')) });
    const result = await unavailable.verify(await signLogoutToken(ed, userLogoutClaims(SID)));
    assert.equal(result.ok ? 'ok' : result.error.code, 'jwks_unavailable');
  });
});

describe('verifyLogoutToken: each token works once', () => {
  it('refuses the second presentation with logout_token_replayed', async () => {
    const v = verifier();
    const token = await signLogoutToken(ed, userLogoutClaims(SID));
    assert.equal((await v.verify(token)).ok, true);
    const second = await v.verify(token);
    assert.equal(second.ok ? 'ok' : second.error.code, 'logout_token_replayed');
  });

  it('lets exactly one of 20 concurrent presentations through', async () => {
    const v = verifier();
    const token = await signLogoutToken(ed, userLogoutClaims(SID));
    const results = await Promise.all(Array.from({ length: 20 }, () => v.verify(token)));
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.equal(results.filter((r) => !r.ok && r.error.code === 'logout_token_replayed').length, 19);
  });

  it('does not burn the jti of a token whose signature failed', async () => {
    const v = verifier();
    const token = await signLogoutToken(ed, userLogoutClaims(SID));
    assert.equal((await v.verify(flipSignature(token))).ok, false);
    assert.equal((await v.verify(token)).ok, true);
  });

  it('keeps logout-token ids apart from grant ids in a shared replay store', async () => {
    const replayStore = createMemoryReplayStore({ now: () => T0_MS });
    const jti = 'shared-jti-0123456789abcdef';
    const grants = createGrantVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(ed), now: () => T0_MS, replayStore });
    assert.equal((await grants.verify(await signGrant(ed, withClaims(NONCE, { jti })), { expectedNonce: NONCE })).ok, true);
    assert.equal((await verifier({ replayStore }).verify(await signLogoutToken(ed, logoutWith({ jti })))).ok, true);
  });

  it('the one-shot verifyLogoutToken remembers jtis through the store it is given', async () => {
    const options = { issuer: ISSUER, appId: APP_ID, jwks: localJwks(ed), now: () => T0_MS, replayStore: createMemoryReplayStore({ now: () => T0_MS }) };
    const token = await signLogoutToken(ed, userLogoutClaims(SID));
    assert.equal((await verifyLogoutToken(token, options)).ok, true);
    const again = await verifyLogoutToken(token, options);
    assert.equal(again.ok ? 'ok' : again.error.code, 'logout_token_replayed');
  });
});

describe('createLogoutTokenVerifier: configuration', () => {
  it('refuses symmetric algorithms and a missing app id at construction', () => {
    assert.throws(() => createLogoutTokenVerifier({ issuer: ISSUER, appId: APP_ID, jwks: localJwks(ed), algorithms: ['HS256' as 'EdDSA'] }), /not acceptable/);
    assert.throws(() => createLogoutTokenVerifier({ issuer: ISSUER, appId: '', jwks: localJwks(ed) }), /appId/);
  });
});
