import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import type { PasswordVerifier } from '../../src/verifiers/verifier.ts';
import { ALICE_PASSWORD, attemptLogin, CookieJar, countRows, createTestApp, getLoginForm, HTML, loginQuery, testConfig } from '../support/webiso.ts';

/** No stack frames, source paths or internal exception text in anything sent to a client. */
function assertNoInternals(response: LightMyRequestResponse, label: string): void {
  assert.doesNotMatch(response.body, /\bat [\w.<>]+ \(|\bat (async )?file:|node:internal|\/src\/|\.ts:\d+|TypeError|SyntaxError|ReferenceError|FST_ERR/, `${label}: ${response.body.slice(0, 300)}`);
}

function assert4xx(response: LightMyRequestResponse, label: string): void {
  assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${label}: got ${response.statusCode} ${response.body.slice(0, 300)}`);
  assertNoInternals(response, label);
}

describe('error handling', () => {
  it('a body over the limit is refused with 413, in HTML and JSON', async () => {
    const t = await createTestApp();
    try {
      const huge = `appid=app&nonce=${'x'.repeat(200 * 1024)}`;
      for (const accept of ['text/html', 'application/json']) {
        const response = await t.app.inject({ method: 'POST', url: '/login', headers: { accept, 'content-type': 'application/x-www-form-urlencoded' }, payload: huge });
        assert.equal(response.statusCode, 413, accept);
        assertNoInternals(response, accept);
      }
      const json = await t.app.inject({ method: 'POST', url: '/logout', headers: { accept: 'application/json', 'content-type': 'application/json' }, payload: JSON.stringify({ csrf: 'x'.repeat(200 * 1024) }) });
      assert.equal(json.statusCode, 413);
      assert.equal((json.json() as { error: string }).error, 'invalid_request');
    } finally {
      await t.close();
    }
  });

  it('malformed input of every kind → 4xx, never 500, no stack trace', async () => {
    const t = await createTestApp();
    try {
      const jar = new CookieJar();
      const { ctx, csrf } = await getLoginForm(t.app, jar);
      const form = 'application/x-www-form-urlencoded';
      const cases: Array<[string, { method: 'GET' | 'POST'; url: string; contentType?: string; payload?: string | Buffer; headers?: Record<string, string> }]> = [
        ['JSON string body', { method: 'POST', url: '/login', contentType: 'application/json', payload: '"appid"' }],
        ['JSON number body', { method: 'POST', url: '/login', contentType: 'application/json', payload: '42' }],
        ['JSON true body', { method: 'POST', url: '/login', contentType: 'application/json', payload: 'true' }],
        ['JSON null body', { method: 'POST', url: '/login', contentType: 'application/json', payload: 'null' }],
        ['JSON array body', { method: 'POST', url: '/login', contentType: 'application/json', payload: '["ctx"]' }],
        ['invalid JSON', { method: 'POST', url: '/login', contentType: 'application/json', payload: '{"appid": ' }],
        ['__proto__ pollution', { method: 'POST', url: '/login', contentType: 'application/json', payload: '{"__proto__":{"admin":true},"appid":"app"}' }],
        ['constructor pollution', { method: 'POST', url: '/login', contentType: 'application/json', payload: '{"constructor":{"prototype":{"admin":true}}}' }],
        ['JSON object values', { method: 'POST', url: '/login', contentType: 'application/json', payload: JSON.stringify({ ctx: { a: 1 }, csrf: ['x'], username: 1, password: null }) }],
        ['text/plain body', { method: 'POST', url: '/login', contentType: 'text/plain', payload: 'appid=app' }],
        ['text/plain logout', { method: 'POST', url: '/logout', contentType: 'text/plain', payload: 'csrf=x' }],
        ['unsupported content type', { method: 'POST', url: '/login', contentType: 'application/xml', payload: '<a/>' }],
        ['multipart', { method: 'POST', url: '/login', contentType: 'multipart/form-data; boundary=x', payload: '--x\r\n\r\n--x--' }],
        ['invalid UTF-8 in a form', { method: 'POST', url: '/login', contentType: form, payload: Buffer.from([0x61, 0x70, 0x70, 0x69, 0x64, 0x3d, 0xff, 0xfe, 0x26]) }],
        ['broken percent-encoding in a form', { method: 'POST', url: '/login', contentType: form, payload: 'appid=%E0%A4%A&return=%&nonce=%zz' }],
        ['broken percent-encoding in the query', { method: 'GET', url: '/login?appid=%E0%A4%A&return=%&nonce=%zz' }],
        ['repeated parameters', { method: 'GET', url: `/login?${loginQuery()}&nonce=a&nonce=b` }],
        ['bracket parameters', { method: 'GET', url: '/login?appid[]=app&return[x]=y' }],
        ['NUL bytes', { method: 'GET', url: `/login?${loginQuery({ appid: 'app\u0000', nonce: 'a\u0000b' })}` }],
        ['very long return URL', { method: 'GET', url: `/login?${loginQuery({ return: `https://app.example.edu/webiso/callback/${'a'.repeat(10_000)}` })}` }],
        ['array ctx and csrf', { method: 'POST', url: '/login', contentType: form, payload: `ctx=${ctx}&ctx=${ctx}&csrf=${csrf}&csrf=${csrf}&username=alice&password=x` }],
        ['ctx only', { method: 'POST', url: '/login', contentType: form, payload: 'ctx=' }],
        ['csrf only', { method: 'POST', url: '/login', contentType: form, payload: 'csrf=abc' }],
        ['garbage ctx with a valid CSRF token', { method: 'POST', url: '/login', contentType: form, payload: `ctx=${encodeURIComponent('e30.AAAA')}&csrf=${csrf}&username=alice&password=x` }],
        ['repeated username', { method: 'POST', url: '/login', contentType: form, payload: `ctx=${ctx}&csrf=${csrf}&username=alice&username=bob&password=x` }],
        ['garbage cookies', { method: 'GET', url: '/', headers: { cookie: '__Host-webiso_login=%E0%A4%A; __Host-webiso_csrf="; =;;;' } }],
        ['oversized session cookie', { method: 'GET', url: `/login?${loginQuery({ passive: '1' })}`, headers: { cookie: `__Host-webiso_login=${'a'.repeat(3000)}` } }],
        ['logout with a repeated return', { method: 'GET', url: '/logout?return=a&return=b' }],
        ['unknown route', { method: 'GET', url: '/admin/../../etc/passwd' }],
        ['unknown method on a route', { method: 'POST', url: '/.well-known/jwks.json', contentType: form, payload: 'a=b' }],
      ];
      for (const [label, request] of cases) {
        for (const accept of ['text/html', 'application/json']) {
          const response = await t.app.inject({
            method: request.method,
            url: request.url,
            headers: { accept, ...jar.header(), ...(request.contentType ? { 'content-type': request.contentType } : {}), ...request.headers },
            ...(request.payload !== undefined ? { payload: request.payload } : {}),
          });
          // 200 is fine for the few inputs that are harmless (e.g. garbage cookies on the home page)
          if (response.statusCode === 200) {
            assert.ok(label === 'garbage cookies' || label === 'oversized session cookie', `${label}: unexpected 200`);
            assertNoInternals(response, label);
            continue;
          }
          assert4xx(response, `${label} (${accept})`);
          if (String(response.headers['content-type']).startsWith('application/json')) {
            const body = response.json() as { error?: string };
            assert.equal(typeof body.error, 'string', label);
          } else {
            // only the login form itself (re-shown with an error) is HTML whatever the client accepts
            assert.ok(accept === 'text/html' || /name="ctx"/.test(response.body), `${label}: HTML to a JSON client`);
          }
        }
      }
      assert.equal(await countRows(t.app, 'sessions'), 0);
    } finally {
      await t.close();
    }
  });

  it('a 5xx answers with a generic body and a request id; the details go only to the log', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
    });
    const exploding: PasswordVerifier = {
      kind: 'local',
      async verify() {
        throw new Error('database at /srv/secret/path.db exploded: SELECT * FROM users');
      },
    };
    const t = await createTestApp({ verifier: exploding, logger: true, logStream, config: testConfig({ logLevel: 'error' }) });
    try {
      for (const accept of ['text/html', 'application/json']) {
        const jar = new CookieJar();
        const form = await getLoginForm(t.app, jar);
        const response = await t.app.inject({
          method: 'POST',
          url: '/login',
          headers: { ...HTML, accept, ...jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ ctx: form.ctx!, csrf: form.csrf!, username: 'alice', password: ALICE_PASSWORD }).toString(),
        });
        assert.equal(response.statusCode, 500);
        assert.doesNotMatch(response.body, /exploded|secret|SELECT|Error:/);
        assertNoInternals(response, accept);
        const requestId = accept === 'application/json' ? (response.json() as { request_id: string }).request_id : /Reference: <code>([^<]+)<\/code>/.exec(response.body)?.[1];
        assert.ok(requestId, 'the page names a request id');
        const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.event === 'server.error' && entry.reqId === requestId);
        assert.ok(logged, `the error is logged with request id ${requestId}`);
        assert.match(JSON.stringify(logged), /exploded/);
      }
    } finally {
      await t.close();
    }
  });

  it('errors for browsers are HTML pages, for everything else JSON with a stable code', async () => {
    const t = await createTestApp();
    try {
      const html = await t.app.inject({ method: 'GET', url: '/nope', headers: HTML });
      assert.equal(html.statusCode, 404);
      assert.match(String(html.headers['content-type']), /^text\/html/);
      assert.match(html.body, /<code id="error-code">not_found<\/code>/);
      for (const accept of [undefined, '*/*', 'application/json']) {
        const json = await t.app.inject({ method: 'GET', url: '/nope', headers: accept ? { accept } : {} });
        assert.equal(json.statusCode, 404);
        assert.match(String(json.headers['content-type']), /^application\/json/);
        assert.equal((json.json() as { error: string }).error, 'not_found');
      }
      // a login with the right password still works after all that (nothing is left broken)
      const { response } = await attemptLogin(t.app, { username: 'alice', password: ALICE_PASSWORD });
      assert.equal(response.statusCode, 200);
    } finally {
      await t.close();
    }
  });
});
