import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { describe, it } from 'node:test';
import * as client from 'openid-client';
import { buildApp } from '../../src/app.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { authorizationUrl, exchange, FetchBrowser, RP_CALLBACK, startOidcWebiso, submitLogin } from './support.ts';

/** apps[].oidc is validated with errors that name the option; private_key_jwt clients authenticate with their key. */
describe('OIDC client configuration', () => {
  const base = { issuer: 'https://login.example.edu', dataDir: '/nonexistent', logLevel: 'silent' };
  const oidcApp = (oidc: Record<string, unknown>, id = 'x') => ({ id, name: 'X', oidc: { clientId: `${id}-client`, redirectUris: ['https://x.example.edu/cb'], ...oidc } });
  const refused = (config: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => parseConfig({ ...base, ...config }), (error: unknown) => error instanceof ConfigError && pattern.test(error.message), String(pattern));

  it('names the option path of every mistake', () => {
    refused({ apps: [oidcApp({ tokenEndpointAuthMethod: 'client_secret_basic' })] }, /apps\[0\]\.oidc\.clientSecretFile: client_secret_basic needs clientSecretFile/);
    refused({ apps: [oidcApp({ scopes: ['profile'] })] }, /apps\[0\]\.oidc\.scopes: must include openid/);
    refused({ apps: [oidcApp({ redirectUris: ['https://x.example.edu/cb#frag'] })] }, /apps\[0\]\.oidc\.redirectUris\[0\]/);
    refused({ apps: [oidcApp({ refuseMachines: true })] }, /apps\[0\]\.oidc\.refuseMachines/);
    refused({ apps: [oidcApp({ requirePkce: false })] }, /apps\[0\]\.oidc\.requirePkce: a public client/);
    refused({ apps: [oidcApp({ idTokenSignedResponseAlg: 'HS256' })] }, /apps\[0\]\.oidc\.idTokenSignedResponseAlg/);
    refused({ apps: [oidcApp({ registration: true })] }, /apps\[0\]\.oidc/);
    refused({ apps: [oidcApp({}, 'a'), { ...oidcApp({}, 'b'), oidc: { ...oidcApp({}, 'b').oidc, clientId: 'a-client' } }] }, /apps\[1\]\.oidc\.clientId: duplicate OIDC client id/);
    refused({ mode: 'production', apps: [oidcApp({ redirectUris: ['http://x.example.edu/cb'] })] }, /apps\[0\]\.oidc\.redirectUris\[0\]: must be an https/);
    const parsed = parseConfig({ ...base, apps: [oidcApp({})] });
    assert.deepEqual(parsed.apps[0]?.oidc?.scopes, ['openid', 'profile']);
    assert.equal(parsed.apps[0]?.oidc?.idTokenSignedResponseAlg, 'ES256');
    assert.equal(parsed.apps[0]?.oidc?.refreshTokens, false);
  });

  it('refuses to start with an unreadable or short client secret, naming the option', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'webiso-oidc-config-'));
    try {
      const config = parseConfig({ ...base, dataDir, apps: [oidcApp({ clientSecretFile: '/nonexistent/secret' })] });
      await assert.rejects(buildApp(config, { logger: false }), (error: unknown) => error instanceof ConfigError && /apps\[0\]\.oidc\.clientSecretFile: cannot read/.test(error.message));
      writeFileSync(join(dataDir, 'short.secret'), 'too-short');
      const short = parseConfig({ ...base, dataDir, apps: [oidcApp({ clientSecretFile: join(dataDir, 'short.secret') })] });
      await assert.rejects(buildApp(short, { logger: false }), (error: unknown) => error instanceof ConfigError && /at least 32 characters/.test(error.message));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('accepts a private_key_jwt client by its registered public key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'rp-key-1', alg: 'ES256', use: 'sig' };
    const op = await startOidcWebiso({ apps: [{ id: 'jwt', name: 'JWT client', oidc: { clientId: 'jwt-client', jwks: { keys: [jwk] }, redirectUris: [RP_CALLBACK] } }] });
    try {
      const config = await client.discovery(new URL(op.issuer), 'jwt-client', { id_token_signed_response_alg: 'ES256' }, client.PrivateKeyJwt({ key: privateKey, kid: 'rp-key-1' }), { execute: [client.allowInsecureRequests] });
      const browser = new FetchBrowser();
      const start = await authorizationUrl(config);
      const callback = await submitLogin(browser, await browser.walk(start.url, op.base), op.base);
      const tokens = await exchange(config, callback.location, start);
      assert.equal(tokens.claims()?.sub, 'alice');
      assert.equal(tokens.claims()?.aud, 'jwt-client');
    } finally {
      await op.close();
    }
  });
});
