import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { Client } from 'ldapts';
import { createLdapVerifier, escapeFilterValue, type LdapVerifierOptions } from '../../src/verifiers/ldap.ts';
import type { VerifyOutcome } from '../../src/verifiers/verifier.ts';
import { LDAP_USERS, startSlapd, type Slapd } from '../support/slapd.ts';

const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3';

let slapd: Slapd;
/** a directory that only lets bound users search */
let closed: Slapd;

const verifier = (overrides: Partial<LdapVerifierOptions> = {}) =>
  createLdapVerifier({ url: slapd.url, baseDn: slapd.peopleDn, timeoutMs: 3000, ...overrides });
const verify = (username: string, password: string, overrides?: Partial<LdapVerifierOptions>) => verifier(overrides).verify(username, password);

function assertFailure(outcome: VerifyOutcome, reason: string, detail?: RegExp) {
  assert.equal(outcome.ok, false, `expected ${reason}, got ${JSON.stringify(outcome)}`);
  if (outcome.ok) return;
  assert.equal(outcome.reason, reason, JSON.stringify(outcome));
  if (detail) assert.match(outcome.detail ?? '', detail);
}

before(async () => {
  // allow bind_anon_dn: this server answers an empty-password bind with success, like AD does.
  [slapd, closed] = await Promise.all([startSlapd({ allowAnonBindDn: true }), startSlapd({ anonymousSearch: false })]);
});

after(async () => {
  await Promise.all([slapd?.stop(), closed?.stop()]);
});

describe('ldap verifier', () => {
  it('accepts the right password', async () => {
    assert.deepEqual(await verify('alice', LDAP_USERS.alice), {
      ok: true,
      user: { username: 'alice', roles: [], groups: [], amr: ['pwd'] },
    });
  });

  it("asserts the directory's spelling of the username, not the typed one", async () => {
    const outcome = await verify('ALICE', LDAP_USERS.alice);
    assert.equal(outcome.ok && outcome.user.username, 'alice');
    const byCn = await verify('Alice Example', LDAP_USERS.alice, { userFilter: '(cn={username})' });
    assert.equal(byCn.ok && byCn.user.username, 'alice');
  });

  it('rejects a wrong password and an unknown user alike', async () => {
    assertFailure(await verify('alice', 'alice-password-2'), 'invalid_credentials');
    assertFailure(await verify('alice', `${LDAP_USERS.alice} `), 'invalid_credentials');
    assertFailure(await verify('alice', LDAP_USERS.bob), 'invalid_credentials');
    assertFailure(await verify('nobody', LDAP_USERS.alice), 'invalid_credentials');
  });

  it('requires exactly one matching entry', async () => {
    const outcome = await verify('alice', LDAP_USERS.alice, { userFilter: '(|(uid={username})(sn=Example))' });
    assertFailure(outcome, 'invalid_credentials', /no unique/);
  });

  it('keeps concurrent logins apart', async () => {
    const users = ['alice', 'bob', 'carol'] as const;
    const attempts = Array.from({ length: 15 }, (_, i) => users[i % 3] ?? 'alice');
    const outcomes = await Promise.all(attempts.map((u) => verify(u, LDAP_USERS[u])));
    outcomes.forEach((outcome, i) => assert.equal(outcome.ok && outcome.user.username, attempts[i]));
  });
});

describe('ldap verifier: empty passwords (RFC 4513 unauthenticated bind)', () => {
  it('the test server really accepts an empty-password bind for a real DN, as anonymous', async () => {
    const client = new Client({ url: slapd.url });
    try {
      await client.bind(`uid=alice,${slapd.peopleDn}`, '');
      const { value } = await client.exop(WHO_AM_I);
      assert.equal(value ?? '', ''); // bound, but as nobody
    } finally {
      await client.unbind();
    }
  });

  it('refuses empty and whitespace-only passwords', async () => {
    for (const password of ['', ' ', '   ', '\t', '\n', '\u00a0', '\u3000 ']) {
      assertFailure(await verify('alice', password), 'invalid_credentials', /empty password/);
    }
  });

  it('refuses them before any network I/O (nothing listens at this URL)', async () => {
    const nowhere = { url: 'ldap://127.0.0.1:1' };
    assertFailure(await verify('alice', '', nowhere), 'invalid_credentials');
    // Control: a real password does go to the network and finds nobody there.
    assertFailure(await verify('alice', LDAP_USERS.alice, nowhere), 'unavailable');
  });

  it('refuses a service account configured without a password', () => {
    assert.throws(() => verifier({ bindDn: slapd.serviceDn }), /bindPassword/);
  });
});

describe('ldap verifier: filter and DN injection', () => {
  const injections = [
    '*',
    'al*',
    '*lice',
    'a*e',
    'alice)(uid=*',
    '*)(|(uid=*',
    'alice)(|(objectClass=*)',
    '(uid=alice)',
    'alice\\',
    'alice\\2a',
    'alice\0',
    '\0',
    'alice,ou=people',
    `uid=alice,ou=people,dc=test,dc=webiso`,
    'alice+cn=Alice Example',
    'alice=',
    'odd*',
    'odd*(user)',
  ];

  it('never logs anyone in through a crafted username', async () => {
    for (const username of injections) {
      for (const password of Object.values(LDAP_USERS)) {
        const outcome = await verify(username, password);
        assertFailure(outcome, 'invalid_credentials', undefined);
      }
    }
  });

  it('escapes rather than refuses: a uid full of filter syntax logs in as itself', async () => {
    const outcome = await verify('odd*(user)\\', LDAP_USERS['odd*(user)\\']);
    assert.equal(outcome.ok && outcome.user.username, 'odd*(user)\\');
  });

  it('escapes the RFC 4515 specials', () => {
    assert.equal(escapeFilterValue('a*(b)\\\0c'), 'a\\2a\\28b\\29\\5c\\00c');
    assert.equal(escapeFilterValue('Grüße $& $1'), 'Grüße $& $1');
  });

  it('refuses control characters and over-long usernames', async () => {
    for (const username of ['', 'alice\n', 'ali\u0007ce', 'a'.repeat(257), '\ud800alice']) {
      assertFailure(await verify(username, LDAP_USERS.alice), 'invalid_credentials', /username rejected/);
    }
  });
});

describe('ldap verifier: groups and roles', () => {
  const withGroups = (): Partial<LdapVerifierOptions> => ({
    groupBaseDn: slapd.groupsDn,
    groupRoleMap: {
      'WEBISO-ADMINS': ['admin'],
      'CN=Library-Staff, OU=groups, dc=test,dc=webiso': ['staff', 'reader'],
    },
  });

  it('maps group cn and group DN to roles', async () => {
    const alice = await verify('alice', LDAP_USERS.alice, withGroups());
    assert.deepEqual(alice.ok && { roles: alice.user.roles, groups: alice.user.groups }, { roles: ['admin'], groups: ['webiso-admins'] });
    const bob = await verify('bob', LDAP_USERS.bob, withGroups());
    assert.deepEqual(bob.ok && { roles: bob.user.roles, groups: bob.user.groups }, { roles: ['staff', 'reader'], groups: ['library-staff'] });
    const carol = await verify('carol', LDAP_USERS.carol, withGroups());
    assert.deepEqual(carol.ok && carol.user.roles, []);
  });

  it('gives no roles when the password is wrong', async () => {
    assertFailure(await verify('alice', 'nope', withGroups()), 'invalid_credentials');
  });
});

describe('ldap verifier: service account', () => {
  it('searches as the service account when the directory hides entries from anonymous', async () => {
    const base = { url: closed.url, baseDn: closed.peopleDn };
    // Anonymous cannot even see the search base (noSuchObject): a setup problem, not a bad password.
    assertFailure(await verify('alice', LDAP_USERS.alice, base), 'unavailable', /user search failed: NoSuchObject/);
    const outcome = await verify('alice', LDAP_USERS.alice, { ...base, bindDn: closed.serviceDn, bindPassword: closed.servicePassword });
    assert.equal(outcome.ok && outcome.user.username, 'alice');
  });

  it('reports a broken service account as unavailable, not as the user\'s bad password', async () => {
    const outcome = await verify('alice', LDAP_USERS.alice, { url: closed.url, baseDn: closed.peopleDn, bindDn: closed.serviceDn, bindPassword: 'wrong' });
    assertFailure(outcome, 'unavailable', /service bind failed/);
  });
});

describe('ldap verifier when the directory is down', () => {
  it('a stopped slapd is unavailable, promptly', async () => {
    const doomed = await startSlapd();
    await doomed.stop();
    const started = Date.now();
    assertFailure(await verify('alice', LDAP_USERS.alice, { url: doomed.url, timeoutMs: 3000 }), 'unavailable');
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  it('a directory that never answers is unavailable once timeoutMs has passed', async () => {
    const sockets = new Set<Socket>();
    const hole = createServer((socket) => sockets.add(socket)); // accepts, never replies
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const address = hole.address();
    assert.ok(address && typeof address === 'object');
    try {
      const started = Date.now();
      const outcome = await verify('alice', LDAP_USERS.alice, { url: `ldap://127.0.0.1:${address.port}`, timeoutMs: 1000 });
      const elapsed = Date.now() - started;
      assertFailure(outcome, 'unavailable');
      assert.ok(elapsed >= 900 && elapsed < 2000, `took ${elapsed} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  });
});
