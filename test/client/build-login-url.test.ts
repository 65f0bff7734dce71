import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { buildLoginUrl, isWellFormedNonce, nonceMatches } from '../../src/client/index.ts';

const base = { issuer: 'https://login.example.edu', appId: 'demo', returnUrl: 'https://app.example.edu/webiso/callback' };

describe('buildLoginUrl', () => {
  it('builds a basic login URL with a fresh nonce', () => {
    const first = buildLoginUrl(base);
    const url = new URL(first.url);
    assert.equal(url.origin + url.pathname, 'https://login.example.edu/login');
    assert.equal(url.searchParams.get('appid'), 'demo');
    assert.equal(url.searchParams.get('return'), base.returnUrl);
    assert.equal(url.searchParams.get('flavor'), 'basic');
    assert.equal(url.searchParams.get('nonce'), first.nonce);
    assert.equal(url.searchParams.has('passive'), false);
    assert.equal(url.searchParams.has('force'), false);
    assert.ok(isWellFormedNonce(first.nonce));
    assert.ok(Buffer.from(first.nonce, 'base64url').length >= 16, 'at least 128 random bits');
    assert.notEqual(buildLoginUrl(base).nonce, first.nonce);
  });

  it('keeps an issuer path prefix and tolerates a trailing slash', () => {
    const url = new URL(buildLoginUrl({ ...base, issuer: 'https://sso.example.edu/webiso/' }).url);
    assert.equal(url.pathname, '/webiso/login');
  });

  it('adds passive, force and getcred target', () => {
    assert.equal(new URL(buildLoginUrl({ ...base, passive: true }).url).searchParams.get('passive'), '1');
    assert.equal(new URL(buildLoginUrl({ ...base, force: true }).url).searchParams.get('force'), '1');
    const getcred = new URL(buildLoginUrl({ ...base, flavor: 'getcred', target: 'imap' }).url);
    assert.equal(getcred.searchParams.get('flavor'), 'getcred');
    assert.equal(getcred.searchParams.get('target'), 'imap');
  });

  it('rejects inconsistent options', () => {
    assert.throws(() => buildLoginUrl({ ...base, passive: true, force: true }), /mutually exclusive/);
    assert.throws(() => buildLoginUrl({ ...base, flavor: 'getcred' }), /target/);
    assert.throws(() => buildLoginUrl({ ...base, target: 'imap' }), /target/);
    assert.throws(() => buildLoginUrl({ ...base, returnUrl: '/relative' }), /returnUrl/);
    assert.throws(() => buildLoginUrl({ ...base, flavor: 'deluxe' as 'basic' }), /flavor/);
  });
});

describe('nonceMatches', () => {
  it('compares well-formed nonces only', () => {
    assert.equal(nonceMatches('abc', 'abc'), true);
    assert.equal(nonceMatches('abc', 'abd'), false);
    assert.equal(nonceMatches('', ''), false);
    assert.equal(nonceMatches(42, '42'), false);
    assert.equal(nonceMatches('a b', 'a b'), false);
    assert.equal(nonceMatches('x'.repeat(129), 'x'.repeat(129)), false);
  });
});
