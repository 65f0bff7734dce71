import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseCgiEnv } from '../support/apache-cas.ts';
import { redirectUriOf, reserveApacheOidcPorts, startApacheOidc, type ApacheOidc } from '../support/apache-oidc.ts';
import { launchChromium } from '../support/browser.ts';
import { giveMachineCookie, logIn, reserveWebiso, startCasWebiso, type CasWebiso } from '../support/cas-webiso.ts';
import { makeTempDir } from '../support/process.ts';

// Real Chromium, real Apache + mod_auth_openidc 2.4 (Debian), webiso as the OpenID Provider on loopback.
const ALICE = { name: 'alice', password: 'alice correct horse battery', roles: ['library', 'staff'] };
const FQDN = 'kiosk9.library.example.edu';
const SECRET = 'test-only-client-secret-0123456789abcdef';

describe('browser: Apache mod_auth_openidc against webiso', () => {
  let apache: ApacheOidc;
  let webiso: CasWebiso;
  let browser: Browser;
  let person: BrowserContext;
  let page: Page;

  before(async () => {
    const address = await reserveWebiso();
    const ports = await reserveApacheOidcPorts();
    const secretDir = await makeTempDir('webiso-oidc-secret-');
    const secretFile = join(secretDir, 'apache.secret');
    writeFileSync(secretFile, SECRET);
    const client = (clientId: string, port: number, extra: Record<string, unknown>) => ({
      clientId,
      clientSecretFile: secretFile,
      redirectUris: [redirectUriOf(port)],
      ...extra,
    });
    webiso = await startCasWebiso(address, {
      users: [ALICE],
      apps: [
        { id: 'apache-people', name: 'Apache (people)', oidc: client('apache-people', ports.people, { scopes: ['openid', 'profile', 'roles'] }), logout: { backchannelUrl: `${redirectUriOf(ports.people)}?logout=backchannel` } },
        { id: 'apache-kiosk', name: 'Apache (kiosk)', oidc: client('apache-kiosk', ports.kiosk, { scopes: ['openid', 'profile', 'machine'], flavor: 'machineoruser', idTokenSignedResponseAlg: 'RS256' }) },
      ],
    });
    apache = await startApacheOidc({ ports, issuer: `${address.webisoUrl}/oidc`, clientSecret: SECRET });
    browser = await launchChromium();
    person = await browser.newContext();
    page = await person.newPage();
  });
  after(async () => {
    await browser?.close();
    await webiso?.close();
    await apache?.stop();
  });

  const why = async () => `apache error log:\n${await apache.readErrorLog()}`;
  const cgiEnv = async (p: Page) => parseCgiEnv(await p.innerText('body'));

  it('a person logs in at webiso and the protected page shows REMOTE_USER and the claims', async () => {
    const target = `${apache.urls.people}/secure/page`;
    await page.goto(target);
    assert.ok(page.url().startsWith(`${webiso.webisoUrl}/oidc/interaction/`), `${page.url()}\n${await why()}`);
    await logIn(page, ALICE, target);
    const env = await cgiEnv(page);
    assert.equal(env.REMOTE_USER, 'alice', await why());
    assert.equal(env.OIDC_CLAIM_webiso_kind, 'user');
    assert.equal(env.OIDC_CLAIM_preferred_username, 'alice');
    assert.equal(env.OIDC_CLAIM_roles, 'library,staff');
    assert.equal(env.OIDC_CLAIM_amr, 'pwd');
    assert.ok(env.OIDC_CLAIM_sid, 'the ID token names the webiso session');
  });

  it('a kiosk browser arrives as host/<fqdn> with its entitlements, without a password', async () => {
    const kiosk = await browser.newContext();
    try {
      await giveMachineCookie(webiso.webiso, kiosk, FQDN, { entitlements: ['library-walk-in'], location: 'Main library, floor 1' });
      const kioskPage = await kiosk.newPage();
      await kioskPage.goto(`${apache.urls.kiosk}/secure/`);
      assert.equal(kioskPage.url(), `${apache.urls.kiosk}/secure/`, await why());
      const env = await cgiEnv(kioskPage);
      assert.equal(env.REMOTE_USER, `host/${FQDN}`, await why());
      assert.equal(env.OIDC_CLAIM_webiso_kind, 'machine');
      assert.equal(env.OIDC_CLAIM_machine_fqdn, FQDN);
      assert.equal(env.OIDC_CLAIM_machine_location, 'Main library, floor 1');
      assert.equal(env.OIDC_CLAIM_entitlements, 'library-walk-in');
    } finally {
      await kiosk.close();
    }
  });

  it('a webiso logout ends the mod_auth_openidc session through back-channel logout', async () => {
    await page.goto(`${apache.urls.people}/secure/again`);
    assert.equal((await cgiEnv(page)).REMOTE_USER, 'alice', 'the Apache session is live before the logout');
    await page.goto(`${webiso.webisoUrl}/logout`);
    await Promise.all([page.waitForURL(`${webiso.webisoUrl}/logout`), page.click('#logout-submit')]);
    const deadline = Date.now() + 5000;
    let delivered = false;
    while (!delivered && Date.now() < deadline) {
      await webiso.webiso.webiso.audit.flush();
      delivered = (await webiso.webiso.webiso.audit.recent(50)).some((row) => row.event === 'logout.delivery' && row.appId === 'apache-people' && row.detail?.includes('delivered'));
      if (!delivered) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(delivered, `the outbox delivered the logout token\n${JSON.stringify(await webiso.webiso.webiso.audit.recent(10))}\n${await why()}`);
    // with a new webiso session elsewhere the Apache session would still be gone: go back and see the login form
    await page.goto(`${apache.urls.people}/secure/page`);
    assert.ok(page.url().startsWith(`${webiso.webisoUrl}/oidc/interaction/`), `mod_auth_openidc sent the browser to log in again: ${page.url()}\n${await why()}`);
    assert.ok(await page.isVisible('#password'));
  });
});
