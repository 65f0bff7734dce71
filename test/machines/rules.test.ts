import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/load.ts';
import { detectAnomalies, type AnomalyInput } from '../../src/machines/anomaly.ts';
import { checkFqdn, fqdnMatchesPattern, isFqdnPattern } from '../../src/machines/fqdn.ts';
import { evaluateMintPolicy } from '../../src/machines/mint-policy.ts';
import { networkKey, normalizeCidr, registeredNetworkOf } from '../../src/machines/networks.ts';
import { testConfig } from '../support/webiso.ts';

describe('machine names', () => {
  it('accepts DNS names and lower-cases them', () => {
    assert.deepEqual(checkFqdn('Kiosk-1.Library.Example.EDU'), { ok: true, fqdn: 'kiosk-1.library.example.edu' });
    assert.deepEqual(checkFqdn('alice'), { ok: true, fqdn: 'alice' });
    assert.equal(checkFqdn(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`).ok, true); // 253
  });

  it('refuses rather than truncates: too long, bad labels, trailing dot, IP literals, non-ASCII, control characters', () => {
    const refused = [
      '',
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, // 254
      'a'.repeat(64),
      'kiosk..example.edu',
      'kiosk.example.edu.',
      '-kiosk.example.edu',
      'kiosk-.example.edu',
      'kiosk_1.example.edu',
      '10.1.2.3',
      'kïosk.example.edu',
      'kiosk\r\n.example.edu',
      'kiosk example.edu',
      '*.example.edu',
    ];
    for (const name of refused) assert.equal(checkFqdn(name).ok, false, JSON.stringify(name));
    assert.equal(checkFqdn(42).ok, false);
  });

  it('matches exact names and *.domain patterns strictly below the domain', () => {
    assert.ok(fqdnMatchesPattern('k1.kiosk.example.edu', '*.kiosk.example.edu'));
    assert.ok(fqdnMatchesPattern('a.b.kiosk.example.edu', '*.kiosk.example.edu'));
    assert.ok(!fqdnMatchesPattern('kiosk.example.edu', '*.kiosk.example.edu'));
    assert.ok(!fqdnMatchesPattern('evilkiosk.example.edu', '*.kiosk.example.edu'));
    assert.ok(!fqdnMatchesPattern('k1.kiosk.example.edu.evil.test', '*.kiosk.example.edu'));
    assert.ok(fqdnMatchesPattern('k1.example.edu', 'k1.example.edu'));
    assert.ok(!fqdnMatchesPattern('k2.example.edu', 'k1.example.edu'));
    assert.ok(isFqdnPattern('*.localhost') && isFqdnPattern('kiosk1.example.edu'));
    assert.ok(!isFqdnPattern('*kiosk.example.edu') && !isFqdnPattern('*.*.example.edu') && !isFqdnPattern('k.example.edu.'));
  });
});

describe('mint policy', () => {
  const policy = [
    { users: ['carol'], fqdns: ['k1.library.example.edu'] },
    { roles: ['admin'], fqdns: ['*.kiosk.example.edu'] },
    { groups: ['lab-admins'], fqdns: ['*.lab.example.edu'] },
  ];
  const admin = { username: 'root', roles: ['admin'], groups: [] };

  it('allows only a rule naming both the minter and the name', () => {
    assert.deepEqual(evaluateMintPolicy(policy, admin, 'a.kiosk.example.edu'), { allowed: true, rule: 1 });
    assert.deepEqual(evaluateMintPolicy(policy, admin, 'k1.library.example.edu'), { allowed: false, needsGroups: false });
    assert.deepEqual(evaluateMintPolicy(policy, { username: 'Carol', roles: [], groups: [] }, 'k1.library.example.edu'), { allowed: true, rule: 0 });
    assert.deepEqual(evaluateMintPolicy(policy, { username: 'dave', roles: [], groups: ['Lab-Admins'] }, 'pc3.lab.example.edu'), { allowed: true, rule: 2 });
    assert.deepEqual(evaluateMintPolicy([], admin, 'a.kiosk.example.edu'), { allowed: false, needsGroups: false });
  });

  it('asks for the groups (a re-login) only when a group rule could allow it and the groups are unknown', () => {
    assert.deepEqual(evaluateMintPolicy(policy, { username: 'dave', roles: [], groups: undefined }, 'pc3.lab.example.edu'), { allowed: false, needsGroups: true });
    assert.deepEqual(evaluateMintPolicy(policy, { username: 'dave', roles: [], groups: [] }, 'pc3.lab.example.edu'), { allowed: false, needsGroups: false });
    assert.deepEqual(evaluateMintPolicy(policy, { username: 'dave', roles: [], groups: undefined }, 'x.kiosk.example.edu'), { allowed: false, needsGroups: false });
  });
});

describe('networks', () => {
  it('normalises CIDRs and refuses anything else', () => {
    assert.equal(normalizeCidr('10.1.2.3/16'), '10.1.0.0/16');
    assert.equal(normalizeCidr('2001:db8:1:2:3::1/48'), '2001:db8:1::/48');
    for (const bad of ['10.1.2.3', '10.1.2.0/33', 'library', '10.1.2.0/24; drop table', '']) assert.equal(normalizeCidr(bad), undefined, bad);
  });

  it('finds the registered network of an address, IPv4-mapped IPv6 included', () => {
    const networks = ['10.1.0.0/16', '2001:db8:1::/48'];
    assert.equal(registeredNetworkOf('10.1.200.7', networks), '10.1.0.0/16');
    assert.equal(registeredNetworkOf('::ffff:10.1.3.4', networks), '10.1.0.0/16');
    assert.equal(registeredNetworkOf('2001:db8:1:ff::9', networks), '2001:db8:1::/48');
    assert.equal(registeredNetworkOf('10.2.0.1', networks), undefined);
  });

  it('keys an address by its registered network, else by its /24 or /64 (configurable)', () => {
    const prefixes = { ipv4Prefix: 24, ipv6Prefix: 64 };
    assert.equal(networkKey('10.1.9.9', ['10.1.0.0/16'], prefixes), '10.1.0.0/16');
    assert.equal(networkKey('192.0.2.77', [], prefixes), '192.0.2.0/24');
    assert.equal(networkKey('2001:db8:5:6:7::1', [], prefixes), '2001:db8:5:6::/64');
    assert.equal(networkKey('192.0.2.77', [], { ipv4Prefix: 16, ipv6Prefix: 48 }), '192.0.0.0/16');
  });
});

describe('anomaly rules (pure)', () => {
  const base: AnomalyInput = {
    fqdn: 'k1.kiosk.example.edu',
    at: 10_000,
    clientIp: '10.1.2.3',
    network: '10.1.0.0/16',
    registeredNetworks: ['10.1.0.0/16'],
    previous: undefined,
    sameCookie: [],
    teleportWindowSeconds: 600,
  };
  const rules = (input: Partial<AnomalyInput>) => detectAnomalies({ ...base, ...input }).map((alert) => alert.rule);

  it('raises nothing for a sighting inside the registered network', () => {
    assert.deepEqual(rules({ previous: { at: 9_990, clientIp: '10.1.7.7', network: '10.1.0.0/16' } }), []);
  });

  it('outside the registered networks; off when none are registered', () => {
    assert.deepEqual(rules({ clientIp: '192.0.2.1', network: '192.0.2.0/24' }), ['outside_networks']);
    assert.deepEqual(rules({ clientIp: '192.0.2.1', network: '192.0.2.0/24', registeredNetworks: [] }), []);
  });

  it('teleport: a different network within the window, not after it', () => {
    const previous = { at: 9_950, clientIp: '192.0.2.5', network: '192.0.2.0/24' };
    assert.deepEqual(rules({ previous }), ['teleport']);
    assert.deepEqual(rules({ previous: { ...previous, at: 10_000 - 601 } }), []);
  });

  it('clone: the same cookie back on a network after another one (A, B, A); one move is no clone', () => {
    assert.deepEqual(rules({ sameCookie: [{ network: '192.0.2.0/24', at: 9_990 }] }), []);
    assert.deepEqual(rules({ sameCookie: [{ network: '192.0.2.0/24', at: 9_990 }, { network: '10.1.0.0/16', at: 9_980 }] }), ['clone']);
    assert.deepEqual(rules({ sameCookie: [{ network: '10.1.0.0/16', at: 9_990 }, { network: '192.0.2.0/24', at: 9_980 }] }), []);
  });
});

describe('machines configuration', () => {
  it('has the documented defaults', () => {
    const config = testConfig();
    assert.equal(config.machines.maxLifetimeDays, 120);
    assert.equal(config.machines.reauthSeconds, 300);
    assert.equal(config.machines.enrollmentTtlSeconds, 900);
    assert.deepEqual(config.machines.mintPolicy, []);
    assert.deepEqual(config.machines.anomaly, { ipv4Prefix: 24, ipv6Prefix: 64, teleportWindowSeconds: 600, cloneWindowSeconds: 3600, autoSuspend: false });
    assert.equal(config.session.kioskIdleSeconds, 600);
    assert.equal(config.session.kioskAbsoluteSeconds, 1800);
  });

  it('refuses bad policies, times and lifetimes with the option path in the message', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ machines: { mintPolicy: [{ fqdns: ['*.kiosk.example.edu'] }] } }, /machines\.mintPolicy\[0\].*at least one of users, groups or roles/],
      [{ machines: { mintPolicy: [{ roles: ['admin'], fqdns: ['*kiosk.example.edu'] }] } }, /machines\.mintPolicy\[0\]\.fqdns\[0\]/],
      [{ machines: { mintPolicy: [{ roles: ['admin'], fqdns: [] }] } }, /machines\.mintPolicy\[0\]\.fqdns/],
      [{ machines: { invalidBefore: 'yesterday' } }, /machines\.invalidBefore/],
      [{ machines: { maxLifetimeDays: 0 } }, /machines\.maxLifetimeDays/],
      [{ machines: { anomaly: { ipv4Prefix: 40 } } }, /machines\.anomaly\.ipv4Prefix/],
      [{ machines: { surprise: true } }, /machines/],
      [{ session: { kioskIdleSeconds: 3000, kioskAbsoluteSeconds: 1800 } }, /session\.kioskIdleSeconds/],
    ];
    for (const [overrides, message] of cases) {
      assert.throws(() => testConfig(overrides), (error: unknown) => error instanceof ConfigError && message.test(error.message), JSON.stringify(overrides));
    }
  });

  it('lower-cases policy names and patterns', () => {
    const config = testConfig({ machines: { mintPolicy: [{ users: ['Carol'], groups: ['Lab-Admins'], fqdns: ['*.Kiosk.Example.EDU'] }] } });
    assert.deepEqual(config.machines.mintPolicy[0], { users: ['carol'], groups: ['lab-admins'], fqdns: ['*.kiosk.example.edu'] });
  });
});
