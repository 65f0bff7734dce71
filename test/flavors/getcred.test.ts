import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createGrantVerifier, decryptCredentials, writeCredentialCache, type Identity } from '../../src/client/index.ts';
import { startKdc, type Kdc } from '../support/kdc.ts';
import { createTestApp, hiddenField, HTML, ISSUER, loginThroughForm, testConfig, type TestApp } from '../support/webiso.ts';

const run = promisify(execFile);
const IMAP = 'imap/mail.test.webiso@TEST.WEBISO';
const LDAP_SERVICE = 'ldap/dir.test.webiso@TEST.WEBISO';
const RETURN = 'https://mail.example.edu/cb';

async function appKeys() {
  const { privateKey, publicKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
  return { privateKey, publicJwk: (await exportJWK(publicKey)) as JWK };
}

function getcredQuery(target: string, extra: Record<string, string> = {}) {
  return new URLSearchParams({ appid: 'mail', return: RETURN, flavor: 'getcred', nonce: 'gc-nonce-1', target, ...extra }).toString();
}

async function klist(file: string, krb5Config: string): Promise<string> {
  const { stdout } = await run('klist', ['-c', `FILE:${file}`], { env: { ...process.env, KRB5_CONFIG: krb5Config, LC_ALL: 'C' } });
  return stdout;
}

describe('getcred flavor against a real MIT KDC', () => {
  let kdc: Kdc;
  let test: TestApp;
  let mailKeys: Awaited<ReturnType<typeof appKeys>>;
  let verifyGrant: (grant: string) => Promise<Identity>;
  const scratch = mkdtempSync(join(tmpdir(), 'webiso-getcred-'));

  before(async () => {
    kdc = await startKdc();
    await kdc.addPrincipal('imap/mail.test.webiso');
    await kdc.addPrincipal('ldap/dir.test.webiso');
    mailKeys = await appKeys();
    const config = testConfig({
      verifier: { kind: 'kerberos', realms: [kdc.realm], servicePrincipal: kdc.servicePrincipal, keytab: kdc.keytabPath, krb5Config: kdc.krb5ConfPath, timeoutSeconds: 5 },
      apps: [
        {
          id: 'mail',
          name: 'Webmail',
          returnUrls: [RETURN],
          flavors: ['basic', 'getcred'],
          getcred: { publicKey: mailKeys.publicJwk, targets: [{ pattern: 'imap/*@TEST.WEBISO' }, { pattern: 'imap/secret.test.webiso@TEST.WEBISO', allow: false }] },
        },
        { id: 'nokey', name: 'No key app', returnUrls: ['https://nokey.example.edu/cb'], flavors: ['getcred'], getcred: { targets: [{ pattern: IMAP }] } },
        { id: 'careful', name: 'Careful app', returnUrls: ['https://careful.example.edu/cb'], flavors: ['getcred'], getcred: { publicKey: mailKeys.publicJwk, targets: [{ pattern: IMAP }], confirm: true } },
      ],
    });
    test = await createTestApp({ config, users: [] });
    const jwks = createLocalJWKSet(JSON.parse((await test.app.inject('/.well-known/jwks.json')).body));
    verifyGrant = async (grant) => {
      const verifier = createGrantVerifier({ issuer: ISSUER, appId: 'mail', jwks });
      const result = await verifier.verify(grant, { expectedNonce: 'gc-nonce-1' });
      if (!result.ok) throw result.error;
      return result.identity;
    };
  });
  after(async () => {
    await test?.close();
    await kdc?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('an allowed target yields a grant naming it and an encrypted ccache with exactly that ticket', async () => {
    const { form, response } = await loginThroughForm(test.app, { query: getcredQuery(IMAP), username: 'alice', password: 'alice-password-1' });
    assert.match(form.body, /asks for a Kerberos ticket/);
    assert.match(form.body, /imap\/mail\.test\.webiso@TEST\.WEBISO/);
    const grant = hiddenField(response.body, 'grant');
    const creds = hiddenField(response.body, 'creds');
    assert.ok(grant && creds, 'grant and creds posted to the app');
    const identity = await verifyGrant(grant);
    assert.equal(identity.kind, 'user');
    assert.equal(identity.kind === 'user' && identity.username, 'alice');
    assert.equal(identity.getcred?.target, IMAP);

    const ccache = await decryptCredentials(creds, identity, mailKeys.privateKey);
    const file = join(scratch, 'alice.ccache');
    await writeCredentialCache(file, ccache);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const listing = await klist(file, kdc.krb5ConfPath);
    assert.match(listing, /Default principal: alice@TEST\.WEBISO/);
    const tickets = listing.split('\n').filter((line) => /^\d\d\/\d\d\/\d\d/.test(line));
    assert.equal(tickets.length, 1, listing);
    assert.match(tickets[0] ?? '', /imap\/mail\.test\.webiso@TEST\.WEBISO/);
    assert.doesNotMatch(listing, /krbtgt/);
  });

  it('a target the policy does not allow is refused to the app before any password, and audited', async () => {
    for (const target of [LDAP_SERVICE, 'imap/secret.test.webiso@TEST.WEBISO']) {
      const response = await test.app.inject({ method: 'GET', url: `/login?${getcredQuery(target)}`, headers: HTML });
      assert.equal(hiddenField(response.body, 'error'), 'access_denied');
      assert.equal(hiddenField(response.body, 'grant'), undefined);
      assert.doesNotMatch(response.body, /name="password"/);
    }
    const audited = (await test.app.webiso.audit.recent(5)).find((event) => event.event === 'grant.error');
    assert.match(audited?.detail ?? '', /target not allowed: imap\/secret/);
  });

  it('an app with no registered key gets access_denied', async () => {
    const query = new URLSearchParams({ appid: 'nokey', return: 'https://nokey.example.edu/cb', flavor: 'getcred', nonce: 'n1', target: IMAP }).toString();
    const response = await test.app.inject({ method: 'GET', url: `/login?${query}`, headers: HTML });
    assert.equal(hiddenField(response.body, 'error'), 'access_denied');
    assert.match((await test.app.webiso.audit.recent(1))[0]?.detail ?? '', /no registered key/);
  });

  it('a missing or malformed target is a 400 page, not a redirect', async () => {
    const missing = new URLSearchParams({ appid: 'mail', return: RETURN, flavor: 'getcred', nonce: 'n1' }).toString();
    for (const query of [missing, getcredQuery('imap mail')]) {
      const response = await test.app.inject({ method: 'GET', url: `/login?${query}`, headers: HTML });
      assert.equal(response.statusCode, 400);
      assert.doesNotMatch(response.body, /action="https:/);
    }
  });

  it('passive getcred cannot be honoured without a password: login_required', async () => {
    const response = await test.app.inject({ method: 'GET', url: `/login?${getcredQuery(IMAP, { passive: '1' })}`, headers: HTML });
    assert.equal(hiddenField(response.body, 'error'), 'login_required');
  });

  it('an SSO session alone is not enough: getcred always prompts', async () => {
    const { jar } = await loginThroughForm(test.app, { query: getcredQuery(IMAP), username: 'alice', password: 'alice-password-1' });
    const again = await test.app.inject({ method: 'GET', url: `/login?${getcredQuery(IMAP)}`, headers: { ...HTML, ...jar.header() } });
    assert.match(again.body, /name="password"/);
    const basic = new URLSearchParams({ appid: 'mail', return: RETURN, flavor: 'basic', nonce: 'n2' }).toString();
    const sso = await test.app.inject({ method: 'GET', url: `/login?${basic}`, headers: { ...HTML, ...jar.header() } });
    assert.ok(hiddenField(sso.body, 'grant'), 'basic still gets SSO from the getcred login');
  });

  it('confirm: true names app and service, and a declined consent hands over nothing', async () => {
    const query = new URLSearchParams({ appid: 'careful', return: 'https://careful.example.edu/cb', flavor: 'getcred', nonce: 'n3', target: IMAP }).toString();
    const declined = await loginThroughForm(test.app, { query, username: 'alice', password: 'alice-password-1', fields: { consent: 'deny' } });
    assert.match(declined.form.body, /Careful app/);
    assert.match(declined.form.body, /id="login-deny"/);
    assert.equal(hiddenField(declined.response.body, 'error'), 'access_denied');
    assert.equal(hiddenField(declined.response.body, 'creds'), undefined);
    const allowed = await loginThroughForm(test.app, { query, username: 'alice', password: 'alice-password-1', fields: { consent: 'allow' } });
    assert.ok(hiddenField(allowed.response.body, 'creds'));
  });

  it('a wrong password gets the generic failure and no ticket', async () => {
    const { response } = await loginThroughForm(test.app, { query: getcredQuery(IMAP), username: 'bob', password: 'not-bobs-password' });
    assert.equal(response.statusCode, 401);
    assert.equal(hiddenField(response.body, 'creds'), undefined);
  });

  it('tampered creds, creds swapped between two logins, and the wrong key are all refused', async () => {
    const first = await loginThroughForm(test.app, { query: getcredQuery(IMAP), username: 'alice', password: 'alice-password-1' });
    const second = await loginThroughForm(test.app, { query: getcredQuery(IMAP), username: 'bob', password: 'bob-password-1' });
    const aliceIdentity = await verifyGrant(hiddenField(first.response.body, 'grant') ?? '');
    const bobCreds = hiddenField(second.response.body, 'creds') ?? '';
    const aliceCreds = hiddenField(first.response.body, 'creds') ?? '';
    await assert.rejects(decryptCredentials(bobCreds, aliceIdentity, mailKeys.privateKey), { code: 'creds_mismatch' });
    const parts = aliceCreds.split('.');
    parts[3] = `${parts[3]?.slice(0, -2)}AA`;
    await assert.rejects(decryptCredentials(parts.join('.'), aliceIdentity, mailKeys.privateKey), { code: 'creds_mismatch' });
    const otherKey = await appKeys();
    // Right hash, wrong key: decryption fails rather than returning garbage.
    await assert.rejects(decryptCredentials(aliceCreds, aliceIdentity, otherKey.privateKey), { code: 'creds_decrypt_failed' });
    assert.ok((await decryptCredentials(aliceCreds, aliceIdentity, mailKeys.privateKey)).length > 100);
  });

  it('a target the policy allows but the KDC refuses yields access_denied, audited with the KDC reason', async () => {
    const { response } = await loginThroughForm(test.app, { query: getcredQuery('imap/ghost.test.webiso@TEST.WEBISO'), username: 'alice', password: 'alice-password-1' });
    assert.equal(hiddenField(response.body, 'error'), 'access_denied');
    assert.equal(hiddenField(response.body, 'creds'), undefined);
    const audited = (await test.app.webiso.audit.recent(3)).find((event) => event.event === 'grant.error');
    assert.match(audited?.detail ?? '', /^access_denied: kdc: /);
  });

  it('a KDC that went away yields temporarily_unavailable, audited as an outage', async () => {
    const stopped = await startKdc();
    const config = testConfig({
      verifier: { kind: 'kerberos', realms: [stopped.realm], servicePrincipal: stopped.servicePrincipal, keytab: stopped.keytabPath, krb5Config: stopped.krb5ConfPath, timeoutSeconds: 2 },
      apps: [{ id: 'mail', name: 'Webmail', returnUrls: [RETURN], flavors: ['getcred'], getcred: { publicKey: mailKeys.publicJwk, targets: [{ pattern: IMAP }] } }],
    });
    const outage = await createTestApp({ config, users: [] });
    try {
      await stopped.stop();
      const { response } = await loginThroughForm(outage.app, { query: getcredQuery(IMAP), username: 'alice', password: 'alice-password-1' });
      assert.equal(response.statusCode, 503);
      assert.match(response.body, /try again/i);
      assert.equal((await outage.app.webiso.audit.recent(1))[0]?.event, 'login.unavailable');
    } finally {
      await outage.close();
    }
  });
});
