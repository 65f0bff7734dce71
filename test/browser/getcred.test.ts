import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { startDemoStack, type DemoStack } from '../support/demo-stack.ts';
import { startKdc, type Kdc } from '../support/kdc.ts';

const run = promisify(execFile);
const IMAP = 'imap/mail.test.webiso@TEST.WEBISO';

describe('browser: a getcred login through the demo app hands it a ticket MIT tools accept (real Chromium, real KDC)', () => {
  let kdc: Kdc;
  let stack: DemoStack;
  let browser: Browser;
  const ccacheDir = mkdtempSync(join(tmpdir(), 'webiso-demo-ccache-'));

  before(async () => {
    kdc = await startKdc();
    await kdc.addPrincipal('imap/mail.test.webiso');
    const { privateKey, publicKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
    const publicJwk = await exportJWK(publicKey);
    stack = await startDemoStack({
      configOverrides: ({ demoUrl }) => ({
        verifier: { kind: 'kerberos', realms: [kdc.realm], servicePrincipal: kdc.servicePrincipal, keytab: kdc.keytabPath, krb5Config: kdc.krb5ConfPath, timeoutSeconds: 5 },
        apps: [{ id: 'demo', name: 'webiso demo app', returnUrls: [`${demoUrl}/`], flavors: ['basic', 'getcred'], getcred: { publicKey: publicJwk, targets: [{ pattern: IMAP }], confirm: true } }],
      }),
      demoOptions: { getcred: { target: IMAP, privateKey, ccacheDir } },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    await kdc?.stop();
    rmSync(ccacheDir, { recursive: true, force: true });
  });

  it('shows the consent page, then the app receives exactly the target ticket', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${stack.demoUrl}/mail`);
    assert.equal(await page.textContent('#getcred-target'), IMAP);
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password-1');
    await Promise.all([page.waitForURL(/\/mail$/), page.click('#login-submit')]);
    assert.equal(await page.textContent('[data-field="target"]'), IMAP);
    const file = await page.textContent('[data-field="ccache"]');
    assert.ok(file);
    const { stdout } = await run('klist', ['-c', `FILE:${file}`], { env: { ...process.env, KRB5_CONFIG: kdc.krb5ConfPath, LC_ALL: 'C' } });
    assert.match(stdout, /Default principal: alice@TEST\.WEBISO/);
    assert.match(stdout, /imap\/mail\.test\.webiso@TEST\.WEBISO/);
    assert.doesNotMatch(stdout, /krbtgt/);
  });
});
