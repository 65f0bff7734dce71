import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FLAVOR_NAMES } from '../../src/config/schema.ts';
import {
  FlavorNotAllowedError,
  InvalidRequestError,
  LoginContextInvalidError,
  PasswordInUrlError,
  ReturnUrlNotRegisteredError,
  UnknownAppError,
  WebisoError,
} from '../../src/errors.ts';
import {
  grantingRequestParams,
  MAX_NONCE_LENGTH,
  parseGrantingRequest,
  refusePasswordInUrl,
  resolveGrantingRequest,
  type GrantingRequest,
} from '../../src/login/granting-request.ts';
import { LOGIN_CONTEXT_MAX_AGE_SECONDS, openLoginContext, sealLoginContext } from '../../src/login/login-context.ts';
import { APP_RETURN, testConfig } from '../support/webiso.ts';

/** The native protocol's round trip through the sealed login context. */
const seal = (secret: Buffer, request: GrantingRequest, binding: string, at: number) => sealLoginContext(secret, { protocol: 'native', params: grantingRequestParams(request) }, binding, at);
const open = (secret: Buffer, sealed: unknown, binding: string, at: number) => parseGrantingRequest(openLoginContext(secret, sealed, binding, at).params);

const VALID = { appid: 'app', return: APP_RETURN, flavor: 'basic', nonce: 'nonce-123' } as const;
const config = testConfig();

function refusedWith(fn: () => unknown, errorClass: abstract new (...args: never[]) => WebisoError, code?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    if (code) assert.equal(error.code, code);
    return true;
  });
}

describe('granting-request parser', () => {
  it('parses a well-formed request with defaults', () => {
    assert.deepEqual(parseGrantingRequest(VALID), {
      appId: 'app',
      returnUrl: APP_RETURN,
      flavor: 'basic',
      nonce: 'nonce-123',
      passive: false,
      force: false,
      target: undefined,
    });
  });

  it('defaults the flavor to basic', () => {
    assert.equal(parseGrantingRequest({ appid: 'app', return: APP_RETURN, nonce: 'n' }).flavor, 'basic');
  });

  it('reads passive and force flags', () => {
    assert.equal(parseGrantingRequest({ ...VALID, passive: '1' }).passive, true);
    assert.equal(parseGrantingRequest({ ...VALID, passive: 'true' }).passive, true);
    assert.equal(parseGrantingRequest({ ...VALID, passive: '0' }).passive, false);
    assert.equal(parseGrantingRequest({ ...VALID, passive: '' }).passive, false);
    assert.equal(parseGrantingRequest({ ...VALID, force: '1' }).force, true);
  });

  it('refuses passive and force together', () => {
    refusedWith(() => parseGrantingRequest({ ...VALID, passive: '1', force: '1' }), InvalidRequestError, 'invalid_request');
    refusedWith(() => parseGrantingRequest({ ...VALID, passive: 'true', force: '1' }), InvalidRequestError);
  });

  it('refuses flags other than 1/true/0/empty', () => {
    for (const value of ['yes', '2', 'TRUE', ' 1', 'on']) refusedWith(() => parseGrantingRequest({ ...VALID, passive: value }), InvalidRequestError);
  });

  for (const field of ['appid', 'return', 'nonce'] as const) {
    it(`refuses a missing or empty ${field}`, () => {
      const { [field]: _omitted, ...rest } = VALID;
      refusedWith(() => parseGrantingRequest(rest), InvalidRequestError);
      refusedWith(() => parseGrantingRequest({ ...VALID, [field]: '' }), InvalidRequestError);
    });
  }

  for (const field of ['appid', 'return', 'flavor', 'nonce', 'passive', 'force'] as const) {
    it(`refuses a duplicated ${field} (parameter pollution)`, () => {
      const value = field === 'passive' || field === 'force' ? '0' : VALID[field as keyof typeof VALID];
      refusedWith(() => parseGrantingRequest({ ...VALID, [field]: [value, value] }), InvalidRequestError);
    });
  }

  it('refuses non-string values', () => {
    for (const value of [42, null, true, {}, { toString: () => 'app' }]) {
      refusedWith(() => parseGrantingRequest({ ...VALID, appid: value }), InvalidRequestError);
    }
  });

  it(`accepts a nonce of exactly ${MAX_NONCE_LENGTH} characters and refuses one longer`, () => {
    assert.equal(parseGrantingRequest({ ...VALID, nonce: 'n'.repeat(MAX_NONCE_LENGTH) }).nonce.length, MAX_NONCE_LENGTH);
    refusedWith(() => parseGrantingRequest({ ...VALID, nonce: 'n'.repeat(MAX_NONCE_LENGTH + 1) }), InvalidRequestError);
    refusedWith(() => parseGrantingRequest({ ...VALID, nonce: 'n'.repeat(100_000) }), InvalidRequestError);
  });

  it('refuses nonces with characters outside the unreserved set', () => {
    for (const nonce of ['a b', 'a"b', '<script>', 'a\nb', 'a/b', 'a%20b', 'é']) {
      refusedWith(() => parseGrantingRequest({ ...VALID, nonce }), InvalidRequestError);
    }
  });

  it('refuses malformed app ids as unknown apps', () => {
    for (const appid of ['APP', '-app', 'a'.repeat(65), 'app/x', '../app', 'app\n']) {
      refusedWith(() => parseGrantingRequest({ ...VALID, appid }), UnknownAppError, 'unknown_app');
    }
  });

  it('refuses unknown flavors', () => {
    for (const flavor of ['BASIC', 'admin', 'basic ', 'basic\u0000']) {
      refusedWith(() => parseGrantingRequest({ ...VALID, flavor }), InvalidRequestError);
    }
  });

  it('refuses a target outside getcred, and an empty or oversized target', () => {
    refusedWith(() => parseGrantingRequest({ ...VALID, target: 'imap/mail.example.edu' }), InvalidRequestError);
    refusedWith(() => parseGrantingRequest({ ...VALID, flavor: 'getcred', target: '' }), InvalidRequestError);
    refusedWith(() => parseGrantingRequest({ ...VALID, flavor: 'getcred', target: 't'.repeat(257) }), InvalidRequestError);
    assert.equal(parseGrantingRequest({ ...VALID, flavor: 'getcred', target: 'imap/mail.example.edu' }).target, 'imap/mail.example.edu');
  });

  it('refuses an oversized return URL before matching it', () => {
    refusedWith(() => parseGrantingRequest({ ...VALID, return: `${APP_RETURN}/${'a'.repeat(5000)}` }), InvalidRequestError);
  });

  it('refuses passwords in the query', () => {
    refusedWith(() => refusePasswordInUrl({ ...VALID, password: 'x' }), PasswordInUrlError, 'password_in_url');
    refusedWith(() => refusePasswordInUrl({ ...VALID, pass: 'x' }), PasswordInUrlError);
    refusedWith(() => refusePasswordInUrl({ password: '' }), PasswordInUrlError);
    assert.doesNotThrow(() => refusePasswordInUrl(VALID));
  });
});

describe('granting-request resolution against the registry', () => {
  it('resolves a registered request', () => {
    const resolved = resolveGrantingRequest(config, parseGrantingRequest(VALID));
    assert.equal(resolved.app.id, 'app');
    assert.equal(resolved.returnTo.href, APP_RETURN);
  });

  it('refuses an unknown app', () => {
    refusedWith(() => resolveGrantingRequest(config, parseGrantingRequest({ ...VALID, appid: 'nope' })), UnknownAppError, 'unknown_app');
  });

  it("refuses another app's return URL", () => {
    refusedWith(
      () => resolveGrantingRequest(config, parseGrantingRequest({ ...VALID, return: 'https://other.example.edu/cb' })),
      ReturnUrlNotRegisteredError,
      'return_url_not_registered',
    );
  });

  it('refuses a flavor the app is not allowed', () => {
    refusedWith(() => resolveGrantingRequest(config, parseGrantingRequest({ ...VALID, flavor: 'machineoruser' })), FlavorNotAllowedError, 'flavor_not_allowed');
  });
});

const FIELD_NAMES = ['appid', 'return', 'flavor', 'nonce', 'passive', 'force', 'target', 'password', '__proto__', 'constructor', 'toString'];
const anyValue = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom('app', 'other', APP_RETURN, 'https://other.example.edu/cb', 'basic', 'getcred', 'machineoruser', '1', '0', 'true', 'n'.repeat(129)),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.object({ maxDepth: 1 }),
);
const rawRecords = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELD_NAMES), anyValue),
  fc.dictionary(fc.string({ maxLength: 12 }), anyValue),
  // mostly valid, with one field replaced
  fc.tuple(fc.constantFrom(...FIELD_NAMES), anyValue).map(([name, value]) => ({ ...VALID, [name]: value })),
);

describe('granting-request parser: properties', () => {
  it('on arbitrary input records, returns a well-formed request or throws a WebisoError, nothing else', () => {
    let parsed = 0;
    fc.assert(
      fc.property(rawRecords, (raw) => {
        let request: GrantingRequest;
        try {
          request = parseGrantingRequest(raw);
        } catch (error) {
          assert.ok(error instanceof WebisoError, `threw a non-WebisoError: ${String(error)}`);
          assert.equal(error.statusCode, 400);
          return;
        }
        parsed += 1;
        assert.match(request.appId, /^[a-z0-9][a-z0-9._-]{0,63}$/);
        assert.ok(request.nonce.length >= 1 && request.nonce.length <= MAX_NONCE_LENGTH);
        assert.match(request.nonce, /^[A-Za-z0-9._~-]+$/);
        assert.ok((FLAVOR_NAMES as readonly string[]).includes(request.flavor));
        assert.ok(!(request.passive && request.force));
        assert.equal(typeof request.returnUrl, 'string');
        // whatever parses must resolve or be refused with a WebisoError
        try {
          const resolved = resolveGrantingRequest(config, request);
          assert.ok(resolved.app.returnUrls.length > 0);
        } catch (error) {
          assert.ok(error instanceof WebisoError, `resolve threw a non-WebisoError: ${String(error)}`);
        }
      }),
      { numRuns: 5000 },
    );
    assert.ok(parsed > 50, `only ${parsed} records parsed: the generator does not reach the accepting side`);
  });

  it('a parsed request survives the signed login context unchanged', () => {
    const secret = Buffer.alloc(32, 7);
    const request = fc.record({
      appId: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/),
      returnUrl: fc.webUrl(),
      flavor: fc.constantFrom(...FLAVOR_NAMES),
      nonce: fc.stringMatching(/^[A-Za-z0-9._~-]{1,128}$/),
      passive: fc.boolean(),
      force: fc.boolean(),
    }).filter((r) => !(r.passive && r.force));
    fc.assert(
      fc.property(request, fc.stringMatching(/^[A-Za-z0-9_-]{22,64}$/), (req, binding) => {
        const full: GrantingRequest = { ...req, target: undefined };
        const sealed = seal(secret, full, binding, 1_000_000);
        assert.deepEqual(open(secret, sealed, binding, 1_000_100), full);
      }),
      { numRuns: 500 },
    );
  });

  it('an arbitrary or altered login context is refused with login_context_invalid, never another error', () => {
    const secret = Buffer.alloc(32, 9);
    const genuine = seal(secret, parseGrantingRequest(VALID), 'binding-binding-binding-1', 1_000_000);
    const altered = fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([position, piece]) => {
      const at = position % genuine.length;
      return genuine.slice(0, at) + piece + genuine.slice(at + 1);
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 400 }), altered, anyValue), (sealed) => {
        if (sealed === genuine) return;
        refusedWith(() => openLoginContext(secret, sealed, 'binding-binding-binding-1', 1_000_000), LoginContextInvalidError, 'login_context_invalid');
      }),
      { numRuns: 3000 },
    );
  });

  it('a login context is bound to the browser, the secret and its age', () => {
    const secret = Buffer.alloc(32, 1);
    const sealed = seal(secret, parseGrantingRequest(VALID), 'browser-one-binding-0001', 1_000_000);
    assert.equal(open(secret, sealed, 'browser-one-binding-0001', 1_000_000).appId, 'app');
    refusedWith(() => openLoginContext(secret, sealed, 'browser-two-binding-0002', 1_000_000), LoginContextInvalidError);
    refusedWith(() => openLoginContext(Buffer.alloc(32, 2), sealed, 'browser-one-binding-0001', 1_000_000), LoginContextInvalidError);
    assert.equal(open(secret, sealed, 'browser-one-binding-0001', 1_000_000 + LOGIN_CONTEXT_MAX_AGE_SECONDS).appId, 'app');
    refusedWith(() => openLoginContext(secret, sealed, 'browser-one-binding-0001', 1_000_000 + LOGIN_CONTEXT_MAX_AGE_SECONDS + 1), LoginContextInvalidError);
    // a context from the future (clock games) is refused too
    refusedWith(() => openLoginContext(secret, sealed, 'browser-one-binding-0001', 1_000_000 - 120), LoginContextInvalidError);
  });
});
