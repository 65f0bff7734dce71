import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, SignJWT, base64url } from 'jose';
import { MACHINE_COOKIE, MACHINE_TYP } from '../../src/machines/machine-cookie.ts';
import { CookieJar, hiddenField, loginThroughForm, setCookieLines } from '../support/webiso.ts';
import {
  ADMIN,
  adminLogin,
  adminPost,
  createMachineTestApp,
  eventsOf,
  jarWithMachineCookie,
  KIOSK,
  lastSighting,
  machineConfig,
  mintInBrowser,
  requestLogin,
  signCookie,
  sessionCount,
  type MachineTestApp,
} from '../support/machines.ts';

const DAY = 86_400;

function machineCookieOf(jar: CookieJar): string {
  const value = jar.cookies.get(MACHINE_COOKIE);
  assert.ok(value, 'the jar holds a machine cookie');
  return value;
}

/** Presents `value` as the machine cookie of a fresh browser; the cookie must be refused with `reason`. */
async function assertRefused(t: MachineTestApp, value: string, reason: string) {
  const result = await requestLogin(t.app, jarWithMachineCookie(value));
  assert.equal(result.response.statusCode, 200);
  assert.equal(result.grant, undefined, `no grant for a ${reason} cookie`);
  assert.ok(result.prompted, `a ${reason} cookie is treated as none: the user is prompted`);
  const sighting = await lastSighting(t.app);
  assert.equal(sighting?.outcome, 'rejected');
  assert.equal(sighting?.reason, reason);
}

describe('machine cookies: minting and the version table', () => {
  let t: MachineTestApp;
  beforeEach(async () => {
    await t?.close();
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('mints a typed EdDSA JWS into a __Host-, Secure, HttpOnly, SameSite=Lax, persistent cookie', async () => {
    const jar = new CookieJar();
    const response = await mintInBrowser(t.app, jar, KIOSK, '30');
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /id="minted-fqdn">kiosk1\.kiosk\.example\.edu</);
    const line = setCookieLines(response).find((cookie) => cookie.startsWith(`${MACHINE_COOKIE}=`));
    assert.ok(line, 'Set-Cookie for the machine cookie');
    for (const attribute of ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/', `Max-Age=${30 * DAY}`]) assert.ok(line.split('; ').includes(attribute), `${attribute} in ${line}`);
    assert.doesNotMatch(line, /Domain=/i);
    assert.ok(line.length < 4096, 'name and value fit a browser cookie');

    const value = machineCookieOf(jar);
    const header = decodeProtectedHeader(value);
    assert.equal(header.typ, MACHINE_TYP);
    assert.equal(header.alg, 'EdDSA');
    const machineKey = await t.app.webiso.keystore.activeKey('machine');
    assert.equal(header.kid, machineKey.kid);
    const claims = decodeJwt(value);
    assert.deepEqual(Object.keys(claims).sort(), ['exp', 'fqdn', 'iat', 'jti', 'ver']);
    assert.equal(claims.fqdn, KIOSK);
    assert.equal(claims.ver, 1);
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 30 * DAY);
    assert.ok(base64url.decode(String(claims.jti)).length >= 16, 'jti carries at least 128 bits');

    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Array<{ kid: string }> };
    assert.ok(!jwks.keys.some((key) => key.kid === machineKey.kid), 'the machine key is never published');

    const machine = await t.app.webiso.machines.repository.find(KIOSK);
    assert.equal(machine?.version, 1);
    assert.equal(machine?.setBy, ADMIN.name);
    assert.equal(machine?.expiresAt, claims.exp);
  });

  it("ends the admin's session in the kiosk browser in the same response", async () => {
    const jar = new CookieJar();
    const response = await mintInBrowser(t.app, jar);
    assert.ok(setCookieLines(response).some((line) => line.startsWith('__Host-webiso_login=;') && line.includes('Max-Age=0')));
    assert.equal(jar.cookies.has('__Host-webiso_login'), false);
    assert.equal(await sessionCount(t.app, 'root'), 0);
    const admin = await t.app.inject({ method: 'GET', url: '/admin', headers: { accept: 'text/html', ...jar.header() } });
    assert.equal(admin.statusCode, 303, 'the admin pages ask for a login again');
  });

  it('minting again moves the version: the earlier cookie stops working, the new one works', async () => {
    const jar = new CookieJar();
    await mintInBrowser(t.app, jar);
    const first = machineCookieOf(jar);
    await mintInBrowser(t.app, jar);
    const second = machineCookieOf(jar);
    assert.notEqual(first, second);
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.version, 2);
    await assertRefused(t, first, 'revoked_version');
    const accepted = await requestLogin(t.app, jarWithMachineCookie(second));
    assert.equal(accepted.claims?.kind, 'machine');
    assert.deepEqual((await eventsOf(t.app, KIOSK)).map((event) => [event.action, event.version, event.actor]), [
      ['add', 0, 'root'],
      ['mint', 1, 'root'],
      ['mint', 2, 'root'],
    ]);
  });

  it('revocation takes effect on the very next request', async () => {
    const kiosk = new CookieJar();
    await mintInBrowser(t.app, kiosk);
    const value = machineCookieOf(kiosk);
    assert.equal((await requestLogin(t.app, jarWithMachineCookie(value))).claims?.kind, 'machine');
    const admin = new CookieJar();
    await adminLogin(t.app, admin);
    const revoked = await adminPost(t.app, admin, `/admin/machines/${KIOSK}/revoke`, { reason: 'stolen image' }, `/admin/machines/${KIOSK}`);
    assert.equal(revoked.statusCode, 303);
    await assertRefused(t, value, 'revoked_version');
    const machine = await t.app.webiso.machines.repository.find(KIOSK);
    assert.equal(machine?.version, 2);
    assert.equal(machine?.expiresAt, null, 'no cookie of the machine is valid after a revoke');
    assert.deepEqual((await eventsOf(t.app, KIOSK)).at(-1), { action: 'revoke', actor: 'root', version: 2, client_ip: '127.0.0.1', reason: 'stolen image', detail: null });
  });

  it('a lifetime above machines.maxLifetimeDays is refused and nothing is written', async () => {
    const jar = new CookieJar();
    await mintInBrowser(t.app, jar);
    const before = { version: (await t.app.webiso.machines.repository.find(KIOSK))?.version, events: (await eventsOf(t.app, KIOSK)).length };
    await adminLogin(t.app, jar);
    for (const days of ['121', '0', '-5', '1e3', 'forever']) {
      const response = await adminPost(t.app, jar, `/admin/machines/${KIOSK}/mint`, { days }, `/admin/machines/${KIOSK}`);
      assert.equal(response.statusCode, 400, days);
      assert.match(response.body, /invalid_machine_input/);
      assert.ok(!setCookieLines(response).some((line) => line.startsWith(`${MACHINE_COOKIE}=`)), 'no cookie');
    }
    assert.deepEqual({ version: (await t.app.webiso.machines.repository.find(KIOSK))?.version, events: (await eventsOf(t.app, KIOSK)).length }, before);
  });

  it('refuses to move a version past 2^32-1, changing nothing', async () => {
    const jar = new CookieJar();
    await mintInBrowser(t.app, jar);
    await t.app.webiso.store.db.updateTable('machines').set({ version: 4294967295 }).where('fqdn', '=', KIOSK).execute();
    await adminLogin(t.app, jar);
    const response = await adminPost(t.app, jar, `/admin/machines/${KIOSK}/mint`, { days: '10' }, `/admin/machines/${KIOSK}`);
    assert.equal(response.statusCode, 400);
    assert.equal((await t.app.webiso.machines.repository.find(KIOSK))?.version, 4294967295);
  });

  it('keeps machine_events append-only', async () => {
    await mintInBrowser(t.app, new CookieJar());
    const { db } = t.app.webiso.store;
    await assert.rejects(db.updateTable('machine_events').set({ actor: 'someone else' }).execute(), /append-only/);
    await assert.rejects(db.deleteFrom('machine_events').execute(), /append-only/);
    assert.equal((await eventsOf(t.app, KIOSK)).length, 2);
  });

  it('gives 10,000 cookies 10,000 different confounders of at least 128 bits', async () => {
    const operations = t.app.webiso.machines.operations;
    await operations.add('bulk.kiosk.example.edu', {}, { name: 'test' });
    const seen = new Set<string>();
    for (let index = 0; index < 10_000; index += 1) {
      const { claims } = await operations.mint('bulk.kiosk.example.edu', 1, { name: 'test' });
      assert.ok(base64url.decode(claims.jti).length >= 16);
      seen.add(claims.jti);
    }
    assert.equal(seen.size, 10_000);
    assert.equal((await t.app.webiso.machines.repository.find('bulk.kiosk.example.edu'))?.version, 10_000);
  });
});

describe('machine cookies: every bad cookie is no cookie (the user is prompted) and is audited', () => {
  let t: MachineTestApp;
  let valid: string;
  before(async () => {
    t = await createMachineTestApp();
    const jar = new CookieJar();
    await mintInBrowser(t.app, jar);
    valid = machineCookieOf(jar);
  });
  after(async () => t?.close());

  it('accepts the valid cookie (control case)', async () => {
    const result = await requestLogin(t.app, jarWithMachineCookie(valid));
    assert.equal(result.claims?.kind, 'machine');
    assert.equal((await lastSighting(t.app))?.outcome, 'accepted');
  });

  it('a higher version than the table holds (forgery or database rollback)', async () => {
    await assertRefused(t, await signCookie(t.app, { ver: 2 }), 'future_version');
  });

  it('an unknown FQDN', async () => {
    await assertRefused(t, await signCookie(t.app, { fqdn: 'ghost.kiosk.example.edu' }), 'unknown_machine');
  });

  it('an expired cookie', async () => {
    const now = Math.floor(t.app.webiso.now() / 1000);
    await assertRefused(t, await signCookie(t.app, { iat: now - 2 * DAY, exp: now - 1 }), 'expired');
  });

  it('a cookie issued in the future', async () => {
    const now = Math.floor(t.app.webiso.now() / 1000);
    await assertRefused(t, await signCookie(t.app, { iat: now + 3600, exp: now + DAY }), 'issued_in_future');
  });

  it('a tampered signature, payload or confounder', async () => {
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    await assertRefused(t, `${header}.${payload}.${flipped}`, 'bad_signature');
    const claims = decodeJwt(valid);
    const otherVersion = base64url.encode(JSON.stringify({ ...claims, ver: 99 }));
    await assertRefused(t, `${header}.${otherVersion}.${signature}`, 'bad_signature');
    const otherJti = base64url.encode(JSON.stringify({ ...claims, jti: 'A'.repeat(24) }));
    await assertRefused(t, `${header}.${otherJti}.${signature}`, 'bad_signature');
    assert.equal((await lastSighting(t.app))?.fqdn, null, 'an unverified cookie is not attributed to the machine');
    assert.equal((await lastSighting(t.app))?.claimed_fqdn, KIOSK, 'but what it claimed is kept for the audit');
  });

  it('a wrong typ, even when signed with the machine key', async () => {
    await assertRefused(t, await signCookie(t.app, {}, { typ: 'JWT' }), 'wrong_typ');
    await assertRefused(t, await signCookie(t.app, {}, { typ: 'webiso-grant+jwt' }), 'wrong_typ');
  });

  it('a grant presented as a machine cookie', async () => {
    const { response } = await loginThroughForm(t.app, { query: { flavor: 'basic' } });
    const grant = hiddenField(response.body, 'grant');
    assert.ok(grant);
    await assertRefused(t, grant, 'wrong_typ');
  });

  it('anything signed by the grant key, even with the machine typ and claims', async () => {
    await assertRefused(t, await signCookie(t.app, {}, { purpose: 'grant' }), 'unknown_key');
  });

  it('the login cookie presented as a machine cookie', async () => {
    const { jar } = await loginThroughForm(t.app, { query: { flavor: 'basic' } });
    const login = jar.cookies.get('__Host-webiso_login');
    assert.ok(login);
    await assertRefused(t, login, 'malformed');
  });

  it('alg "none", an unexpected header, malformed claims, garbage and oversized values', async () => {
    const [, payload] = valid.split('.') as [string, string, string];
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: MACHINE_TYP }))}.${payload}.`;
    await assertRefused(t, none, 'wrong_alg');
    const { kid } = decodeProtectedHeader(valid);
    const withJwk = `${base64url.encode(JSON.stringify({ alg: 'EdDSA', kid, typ: MACHINE_TYP, jwk: { kty: 'OKP' } }))}.${payload}.sig`;
    await assertRefused(t, withJwk, 'malformed');
    await assertRefused(t, await signCookie(t.app, { ver: 0 }), 'bad_claims');
    await assertRefused(t, await signCookie(t.app, { ver: 4294967296 }), 'bad_claims');
    await assertRefused(t, await signCookie(t.app, { fqdn: 'KIOSK1.kiosk.example.edu' }), 'bad_claims');
    await assertRefused(t, await signCookie(t.app, { admin: true }), 'bad_claims');
    await assertRefused(t, await signCookie(t.app, { jti: 'short' }), 'bad_claims');
    await assertRefused(t, 'not-a-jws', 'malformed');
    await assertRefused(t, `${'a'.repeat(3000)}.${'b'.repeat(1000)}.${'c'.repeat(200)}`, 'malformed');
  });

  it('a suspended machine, until it is reactivated', async () => {
    const actor = { name: 'test' };
    await t.app.webiso.machines.operations.suspend(KIOSK, actor, 'maintenance');
    await assertRefused(t, valid, 'suspended');
    await t.app.webiso.machines.operations.reactivate(KIOSK, actor);
    assert.equal((await requestLogin(t.app, jarWithMachineCookie(valid))).claims?.kind, 'machine');
  });

  it('after invalidate-before: cookies issued earlier are refused, later ones work', async () => {
    await t.app.webiso.machines.operations.add('cutoff.kiosk.example.edu', {}, { name: 'test' });
    const { cookie: old } = await t.app.webiso.machines.operations.mint('cutoff.kiosk.example.edu', 5, { name: 'test' });
    t.clock.advance(10);
    await t.app.webiso.machines.operations.setInvalidBefore(Math.floor(t.app.webiso.now() / 1000), { name: 'cli:ops' });
    await assertRefused(t, old, 'invalid_before');
    await assertRefused(t, valid, 'invalid_before');
    const { cookie: fresh } = await t.app.webiso.machines.operations.mint('cutoff.kiosk.example.edu', 5, { name: 'test' });
    assert.equal((await requestLogin(t.app, jarWithMachineCookie(fresh))).claims?.machineFQDN, 'cutoff.kiosk.example.edu');
    await assert.rejects(t.app.webiso.machines.operations.setInvalidBefore(Math.floor(t.app.webiso.now() / 1000) - 3600, { name: 'x' }), /earlier would revive/);
    await assert.rejects(t.app.webiso.machines.operations.setInvalidBefore(Math.floor(t.app.webiso.now() / 1000) + 3600, { name: 'x' }), /future/);
  });
});

describe('machine cookies: machines.invalidBefore in the config', () => {
  it('refuses cookies issued before the configured cutoff', async () => {
    const cutoff = new Date(Date.UTC(2026, 10, 22, 12, 0, 0)).toISOString();
    const t = await createMachineTestApp({ config: machineConfig({}, { invalidBefore: cutoff }) });
    try {
      await t.app.webiso.machines.operations.add(KIOSK, {}, { name: 'test' });
      await t.app.webiso.machines.operations.revoke(KIOSK, { name: 'test' }); // version 1 with no cookie
      const now = Math.floor(t.app.webiso.now() / 1000);
      await assertRefused(t, await signCookie(t.app, { iat: now - 60 }), 'invalid_before');
      assert.equal((await requestLogin(t.app, jarWithMachineCookie(await signCookie(t.app, { iat: now })))).claims?.kind, 'machine');
    } finally {
      await t.close();
    }
  });
});

describe('machine cookies: a cookie signed by a rotated-out machine key', () => {
  it('stops verifying once the old key is past its grace period', async () => {
    const t = await createMachineTestApp();
    try {
      const jar = new CookieJar();
      await mintInBrowser(t.app, jar);
      const value = machineCookieOf(jar);
      await t.app.webiso.machines.operations.rotateKey({ name: 'cli:ops' });
      t.clock.advance(t.config.grant.lifetimeSeconds + 301);
      await assertRefused(t, value, 'unknown_key');
      assert.ok((await eventsOf(t.app, '*')).some((event) => event.action === 'rotate_key'));
    } finally {
      await t.close();
    }
  });
});

describe('machine cookies: forged with an HMAC over the public key', () => {
  it('is refused: only EdDSA with a machine key verifies', async () => {
    const t = await createMachineTestApp();
    try {
      await mintInBrowser(t.app, new CookieJar());
      const forged = await new SignJWT({ fqdn: KIOSK, ver: 1 })
        .setProtectedHeader({ alg: 'HS256', typ: MACHINE_TYP, kid: (await t.app.webiso.keystore.activeKey('machine')).kid })
        .setIssuedAt()
        .setExpirationTime('1d')
        .setJti('B'.repeat(24))
        .sign(new TextEncoder().encode('the public key is no secret at all'));
      await assertRefused(t, forged, 'wrong_alg');
    } finally {
      await t.close();
    }
  });
});
