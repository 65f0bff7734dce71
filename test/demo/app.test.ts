import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildDemoApp } from '../../src/demo/app.ts';
import { ISSUER, fakeClock, localJwks, machineGrant, makeKey, userGrant, type TestKey } from '../client/helpers.ts';

const SECRET = 'demo-test-cookie-secret-0123456789';
const NONCE_COOKIE = '__Host-webiso_app_nonce';
const SESSION_COOKIE = '__Host-webiso_app_session';

let key: TestKey;
before(async () => {
  key = await makeKey('EdDSA', 'demo-key');
});

function demo(clock = fakeClock()): { app: FastifyInstance; clock: ReturnType<typeof fakeClock> } {
  const app = buildDemoApp({ issuer: ISSUER, cookieSecret: SECRET, auth: { jwks: localJwks(key), now: clock.now } });
  return { app, clock };
}

function cookieValue(res: LightMyRequestResponse, name: string): string {
  const header = res.headers['set-cookie'];
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [String(header)];
  const line = lines.find((candidate) => candidate.startsWith(`${name}=`));
  assert.ok(line, `expected Set-Cookie for ${name}`);
  return line.slice(name.length + 1).split(';')[0] ?? '';
}

async function logIn(app: FastifyInstance, path: string, grantFor: (nonce: string) => Promise<string>): Promise<string> {
  const start = await app.inject({ method: 'GET', url: path });
  assert.equal(start.statusCode, 302);
  const nonce = new URL(String(start.headers.location)).searchParams.get('nonce') ?? '';
  const callback = await app.inject({
    method: 'POST',
    url: '/webiso/callback',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    cookies: { [NONCE_COOKIE]: cookieValue(start, NONCE_COOKIE) },
    payload: new URLSearchParams({ grant: await grantFor(nonce) }).toString(),
  });
  assert.equal(callback.statusCode, 303, callback.body);
  assert.equal(callback.headers.location, path);
  return cookieValue(callback, SESSION_COOKIE);
}

describe('demo app', () => {
  it('serves a public home page with the three entry points', async () => {
    const { app } = demo();
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    assert.match(res.body, /<a href="\/private">Log in \(basic\)<\/a>/);
    assert.match(res.body, /<a href="\/kiosk">Log in \(machine or user\)<\/a>/);
    assert.match(res.body, /<form method="post" action="\/webiso\/logout">.*Log out of the demo app/s);
    assert.match(res.body, /not logged in/);
  });

  it('sends /private to webiso with the demo app id and registered return URL', async () => {
    const { app } = demo();
    const res = await app.inject({ method: 'GET', url: '/private' });
    assert.equal(res.statusCode, 302);
    const location = new URL(String(res.headers.location));
    assert.equal(location.searchParams.get('appid'), 'demo');
    assert.equal(location.searchParams.get('return'), 'http://localhost:8081/webiso/callback');
    assert.equal(location.searchParams.get('flavor'), 'basic');
  });

  it('shows the logged-in user, HTML-escaped', async () => {
    const { app, clock } = demo();
    const session = await logIn(app, '/private', (nonce) =>
      userGrant(key, nonce, { sub: '<img src=x onerror=alert(1)>', amr: ['pwd', '<b>'] }, clock.now() / 1000),
    );
    const page = await app.inject({ method: 'GET', url: '/private', cookies: { [SESSION_COOKIE]: session } });
    assert.equal(page.statusCode, 200);
    assert.ok(!page.body.includes('<img src=x'));
    assert.match(page.body, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(page.body, /data-field="kind">user</);
    assert.match(page.body, /data-field="flavor">basic</);
    assert.match(page.body, /data-field="amr">pwd, &lt;b&gt;</);
    assert.match(page.body, /data-field="auth-time">\d{4}-\d\d-\d\d \d\d:\d\d UTC</, 'the one date format of webiso');
    const home = await app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } });
    assert.match(home.body, /You are logged in/);
  });

  it('shows a kiosk machine on /kiosk and sends it to a forced personal login on /private', async () => {
    const { app, clock } = demo();
    const session = await logIn(app, '/kiosk', (nonce) => machineGrant(key, nonce, {}, clock.now() / 1000));
    const kiosk = await app.inject({ method: 'GET', url: '/kiosk', cookies: { [SESSION_COOKIE]: session } });
    assert.equal(kiosk.statusCode, 200);
    assert.match(kiosk.body, /data-field="machine">kiosk-1\.lib\.example\.edu</);
    assert.match(kiosk.body, /data-field="kind">machine</);
    assert.match(kiosk.body, /data-field="flavor">machineoruser</);
    assert.ok(!kiosk.body.includes('data-field="username"'));
    const personal = await app.inject({ method: 'GET', url: '/private', cookies: { [SESSION_COOKIE]: session } });
    assert.equal(personal.statusCode, 302);
    const login = new URL(String(personal.headers.location));
    assert.equal(login.searchParams.get('flavor'), 'basic');
    assert.equal(login.searchParams.get('force'), '1');
  });

  it('never listens by itself', async () => {
    const { app } = demo();
    await app.ready();
    assert.equal(app.server.listening, false);
    await app.close();
  });
});
