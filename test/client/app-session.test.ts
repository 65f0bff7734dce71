import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createAppSessionCodec, parseCallbackForm, type AppSession } from '../../src/client/index.ts';
import { createSignedCookieCodec } from '../../src/client/signed-cookie.ts';
import { T0_MS } from './helpers.ts';

const SECRET = 'x'.repeat(32);
const limits = { idleSeconds: 1800, maxSeconds: 28800 };
const session: AppSession = {
  v: 1,
  identity: { kind: 'user', username: 'alice', flavor: 'basic', authTime: T0_MS / 1000, amr: ['pwd'], jti: 'j'.repeat(22) },
  created: T0_MS,
  lastSeen: T0_MS,
  forced: false,
};

function statusAt(cookie: string, ms: number): string {
  return createAppSessionCodec(SECRET, limits).open(cookie, ms).status;
}

describe('app session cookie', () => {
  const codec = createAppSessionCodec(SECRET, limits);
  const cookie = codec.seal(session);

  it('round-trips', () => {
    const check = codec.open(cookie, T0_MS + 1000);
    assert.equal(check.status, 'valid');
    if (check.status === 'valid') assert.deepEqual(check.session, session);
  });

  it('asks for a refresh only after a minute', () => {
    const early = codec.open(cookie, T0_MS + 59_000);
    const late = codec.open(cookie, T0_MS + 61_000);
    assert.equal(early.status === 'valid' && early.refresh, false);
    assert.equal(late.status === 'valid' && late.refresh, true);
  });

  it('enforces idle and hard expiry', () => {
    assert.equal(statusAt(cookie, T0_MS + 1_799_000), 'valid');
    assert.equal(statusAt(cookie, T0_MS + 1_800_000), 'idle_expired');
    const busy = codec.seal({ ...session, lastSeen: T0_MS + 28_790_000 });
    assert.equal(statusAt(busy, T0_MS + 28_799_000), 'valid');
    assert.equal(statusAt(busy, T0_MS + 28_800_000), 'max_expired');
  });

  it('rejects tampering, other secrets, other purposes and future timestamps', () => {
    const [body = '', mac = ''] = cookie.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ ...session, identity: { ...session.identity, username: 'root' } })).toString('base64url');
    assert.equal(statusAt(`${forgedBody}.${mac}`, T0_MS), 'invalid');
    assert.equal(statusAt(`${body}.${mac.slice(0, -2)}AA`, T0_MS), 'invalid');
    assert.equal(statusAt(`${body}`, T0_MS), 'invalid');
    assert.equal(createAppSessionCodec('y'.repeat(32), limits).open(cookie, T0_MS).status, 'invalid');
    const sealedForAnotherPurpose = createSignedCookieCodec(SECRET, 'login-state').seal(session);
    assert.equal(statusAt(sealedForAnotherPurpose, T0_MS), 'invalid');
    assert.equal(statusAt(codec.seal({ ...session, created: T0_MS + 3_600_000, lastSeen: T0_MS + 3_600_000 }), T0_MS), 'invalid');
  });

  it('refuses short secrets', () => {
    assert.throws(() => createAppSessionCodec('short', limits), /32 bytes/);
  });
});

describe('parseCallbackForm', () => {
  it('reads grant, creds and login errors', () => {
    assert.deepEqual(parseCallbackForm({ grant: 'g' }), { ok: true, grant: 'g' });
    assert.deepEqual(parseCallbackForm({ grant: 'g', creds: 'c' }), { ok: true, grant: 'g', creds: 'c' });
    const failed = parseCallbackForm({ error: 'access_denied', error_description: 'nope' });
    assert.equal(failed.ok, false);
    if (!failed.ok) {
      assert.equal(failed.error.code, 'login_error');
      assert.equal(failed.error.error, 'access_denied');
      assert.equal(failed.error.errorDescription, 'nope');
    }
  });

  it('refuses ambiguous bodies', () => {
    const code = (body: unknown): string => {
      const form = parseCallbackForm(body);
      return form.ok ? 'ok' : form.error.code;
    };
    assert.equal(code({ grant: ['a', 'b'] }), 'grant_malformed');
    assert.equal(code({ grant: 'a', error: 'access_denied' }), 'grant_malformed');
    assert.equal(code({}), 'grant_missing');
    assert.equal(code(null), 'grant_missing');
  });
});
