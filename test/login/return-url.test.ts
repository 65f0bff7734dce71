import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { matchReturnUrl, MAX_RETURN_URL_LENGTH, parseReturnUrl } from '../../src/login/return-url.ts';
import { LOOK_ALIKE_URLS, REGISTERED } from '../support/return-url-corpus.ts';


/**
 * The rule from the issue, written independently of the implementation: after WHATWG parsing,
 * scheme, host and port are equal and the path equals the registered path or lies under it on a
 * `/` boundary.
 */
function oracle(candidate: string, registered: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  return registered.some((entry) => {
    const allowed = new URL(entry);
    const prefix = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
    return (
      url.protocol === allowed.protocol &&
      url.hostname === allowed.hostname &&
      url.port === allowed.port &&
      (url.pathname === allowed.pathname || url.pathname.startsWith(prefix))
    );
  });
}

/**
 * What the matcher deliberately refuses on top of the rule (documented in return-url.ts):
 * characters WHATWG strips or rewrites, userinfo, fragments, and encoded dots/slashes/percent
 * or `;` in the path that the app's own server could decode into traversal.
 */
function isClean(candidate: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f\\#]/.test(candidate)) return false;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  return url.username === '' && url.password === '' && !/%(2e|2f|5c|00|25)|;/i.test(url.pathname);
}

describe('return-URL matcher: fixed corpus', () => {
  const accepted: Array<[string, string]> = [
    ['https://app.example.edu/webiso/callback', 'https://app.example.edu/webiso/callback'],
    ['https://app.example.edu/webiso/callback/', 'https://app.example.edu/webiso/callback/'],
    ['https://app.example.edu/webiso/callback/deeper/page', 'https://app.example.edu/webiso/callback/deeper/page'],
    ['https://app.example.edu/webiso/callback?next=%2Fhome', 'https://app.example.edu/webiso/callback?next=%2Fhome'],
    // WHATWG lower-cases scheme and host: the browser goes to the same place, so it matches
    ['HTTPS://APP.EXAMPLE.EDU/webiso/callback', 'https://app.example.edu/webiso/callback'],
    ['hTTpS://App.Example.Edu/webiso/callback', 'https://app.example.edu/webiso/callback'],
    // the default port is the registered (empty) port
    ['https://app.example.edu:443/webiso/callback', 'https://app.example.edu/webiso/callback'],
    ['https://app.example.edu:8443/other/', 'https://app.example.edu:8443/other/'],
    ['https://app.example.edu:8443/other/x/y', 'https://app.example.edu:8443/other/x/y'],
  ];
  for (const [candidate, href] of accepted) {
    it(`accepts ${JSON.stringify(candidate)} as ${href}`, () => {
      const url = matchReturnUrl(candidate, REGISTERED);
      assert.ok(url, `${candidate} must match`);
      assert.equal(url.href, href);
      assert.equal(oracle(candidate, REGISTERED), true);
    });
  }

  for (const [label, candidate] of LOOK_ALIKE_URLS) {
    it(`refuses ${label}: ${JSON.stringify(candidate.slice(0, 80))}`, () => {
      assert.equal(matchReturnUrl(candidate, REGISTERED), undefined);
    });
  }

  it('the refusals the rule alone would accept are exactly the documented extra refusals', () => {
    // WHATWG strips tabs/newlines and drops the fragment, so the bare rule accepts these;
    // the matcher refuses them because the string does not say what it appears to say.
    for (const candidate of ['https://app.example.edu/webiso/call\tback', 'https://app.example.edu/webiso/callback#x', ' https://app.example.edu/webiso/callback']) {
      assert.equal(oracle(candidate, REGISTERED), true, candidate);
      assert.equal(isClean(candidate), false, candidate);
      assert.equal(matchReturnUrl(candidate, REGISTERED), undefined, candidate);
    }
  });

  it('returns the normalised URL it matched, never the raw string', () => {
    const url = matchReturnUrl('HTTPS://APP.EXAMPLE.EDU:443/webiso/callback/a/./b/../c?x=1', REGISTERED);
    assert.ok(url);
    assert.equal(url.href, 'https://app.example.edu/webiso/callback/a/c?x=1');
  });

  it('matches nothing when nothing is registered', () => {
    assert.equal(matchReturnUrl('https://app.example.edu/webiso/callback', []), undefined);
  });

  it('parseReturnUrl refuses non-http(s) schemes even when nothing is compared', () => {
    for (const candidate of ['javascript:alert(1)', 'data:,x', 'mailto:a@b', 'blob:https://app.example.edu/1']) {
      assert.equal(parseReturnUrl(candidate), undefined, candidate);
    }
  });
});

// Pieces the generators combine: every trick from the Keycloak bypass stream, and plenty of
// well-formed parts so that matches are common enough to exercise the accepting side.
const schemes = fc.constantFrom('https', 'http', 'HTTPS', 'HtTpS', 'javascript', 'JaVaScRiPt', 'data', 'ftp', 'file', 'https\t', 'ht\ntps');
const separators = fc.constantFrom('://', '://', '://', ':', ':/', ':\\\\', ':/\\', ':///', '://\t');
const userinfos = fc.constantFrom('', '', '', 'app.example.edu@', 'user:pw@', '@', 'a@@', 'app.example.edu\\@', ':@');
const hosts = fc.constantFrom(
  'app.example.edu',
  'app.example.edu',
  'APP.EXAMPLE.EDU',
  'App.Example.Edu',
  'app.example.edu.',
  'app.example.edu.evil.test',
  'evil.test',
  'evil.app.example.edu',
  'app.example.edu@evil.test',
  'app.exam\tple.edu',
  'аpp.example.edu',
  'ａｐｐ.example.edu',
  'app%2eexample.edu',
  'localhost',
  '127.0.0.1',
  '[::1]',
  '',
);
const ports = fc.constantFrom('', '', '', ':443', ':8443', ':80', ':444', ':08443', ':', ':65536', ':0');
const segments = fc.constantFrom(
  'webiso',
  'callback',
  'other',
  'webiso',
  'callback',
  'callbackevil',
  'admin',
  '..',
  '.',
  '%2e%2e',
  '%2E.',
  '.%2e',
  '%2f',
  '%5c',
  '..;',
  ';x=1',
  '%252e%252e',
  '%25',
  '%00',
  '',
  'a b',
  'é',
  '\\',
  '\n',
  '?q=1',
  '#frag',
  '#',
);
const pathStarts = fc.constantFrom('', '/webiso/callback', '/webiso/callback', '/webiso/callback/', '/other', '/other/', '/webiso', '/WEBISO/callback');
const paths = fc
  .tuple(pathStarts, fc.array(segments, { maxLength: 4 }))
  .map(([start, parts]) => (parts.length === 0 ? start : `${start}/${parts.join('/')}`));
const queries = fc.constantFrom('', '', '?x=1', '?return=https://evil.test/', '?a=%2e%2e');

const candidates = fc
  .tuple(schemes, separators, userinfos, hosts, ports, paths, queries)
  .map(([scheme, sep, userinfo, host, port, path, query]) => `${scheme}${sep}${userinfo}${host}${port}${path}${query}`);

/** Mutations of a registered URL: insert, delete or replace one character with a tricky one. */
const tricky = fc.constantFrom('/', '\\', '@', '.', '..', '%', '%2e', '%2f', '%25', ';', '#', '?', ':', '\t', '\n', ' ', '\u0000', 'A', 'x', 'É', '@evil.test', '.evil.test', ':8443');
const mutations = fc
  .tuple(fc.constantFrom<string>(...REGISTERED), fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), tricky), { minLength: 1, maxLength: 3 }))
  .map(([base, edits]) =>
    edits.reduce((text: string, [position, kind, piece]) => {
      const at = position % (text.length + 1);
      if (kind === 'insert') return text.slice(0, at) + piece + text.slice(at);
      if (kind === 'delete') return text.slice(0, at) + text.slice(at + 1);
      return text.slice(0, at) + piece + text.slice(at + 1);
    }, base),
  );

describe('return-URL matcher: properties', () => {
  it('never accepts what the WHATWG rule refuses, and accepts every clean URL the rule accepts (generated URLs)', () => {
    let acceptedCount = 0;
    fc.assert(
      fc.property(candidates, (candidate) => {
        const matched = matchReturnUrl(candidate, REGISTERED);
        const expected = oracle(candidate, REGISTERED);
        if (matched) {
          acceptedCount += 1;
          assert.equal(expected, true, `false accept: ${JSON.stringify(candidate)}`);
        }
        if (expected && isClean(candidate)) assert.ok(matched, `false refusal: ${JSON.stringify(candidate)}`);
      }),
      { numRuns: 50_000 },
    );
    // the generator must reach the accepting side, or the property proves nothing
    assert.ok(acceptedCount > 100, `only ${acceptedCount} accepted candidates were generated`);
  });

  it('has zero false accepts over 100k mutations of the registered URLs', () => {
    let acceptedCount = 0;
    fc.assert(
      fc.property(mutations, (candidate) => {
        const matched = matchReturnUrl(candidate, REGISTERED);
        if (matched) {
          acceptedCount += 1;
          assert.equal(oracle(candidate, REGISTERED), true, `false accept: ${JSON.stringify(candidate)}`);
        }
        if (oracle(candidate, REGISTERED) && isClean(candidate)) assert.ok(matched, `false refusal: ${JSON.stringify(candidate)}`);
      }),
      { numRuns: 100_000 },
    );
    assert.ok(acceptedCount > 100, `only ${acceptedCount} accepted mutations`);
  });

  it('an accepted URL redirects to a registered origin and re-matches to itself', () => {
    const origins = new Set(REGISTERED.map((entry) => new URL(entry).origin));
    fc.assert(
      fc.property(fc.oneof(candidates, mutations), (candidate) => {
        const matched = matchReturnUrl(candidate, REGISTERED);
        if (!matched) return;
        assert.ok(origins.has(new URL(matched.href).origin), matched.href);
        assert.equal(matchReturnUrl(matched.href, REGISTERED)?.href, matched.href);
        assert.equal(matched.username, '');
        assert.equal(matched.hash, '');
      }),
      { numRuns: 20_000 },
    );
  });

  it('never throws, whatever the string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.webUrl({ withFragments: true, withQueryParameters: true })), (candidate) => {
        const matched = matchReturnUrl(candidate, REGISTERED);
        if (matched) assert.equal(oracle(candidate, REGISTERED), true, JSON.stringify(candidate));
      }),
      { numRuns: 20_000 },
    );
  });

  it('accepts every URL built under a registered path from safe segments', () => {
    const safeSegment = fc.stringMatching(/^[A-Za-z0-9_~-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(safeSegment, { maxLength: 5 }), fc.boolean(), (parts, caseFold) => {
        const base = caseFold ? 'HTTPS://APP.Example.EDU/webiso/callback' : 'https://app.example.edu/webiso/callback';
        const candidate = parts.length === 0 ? base : `${base}/${parts.join('/')}`;
        const matched = matchReturnUrl(candidate, REGISTERED);
        assert.ok(matched, candidate);
        assert.equal(matched.origin, 'https://app.example.edu');
      }),
    );
  });
});
