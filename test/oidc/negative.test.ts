import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { MACHINE_COOKIE } from '../../src/machines/machine-cookie.ts';
import { LOOK_ALIKE_URLS, REGISTERED } from '../support/return-url-corpus.ts';
import { authorizationUrl, discover, exchange, FetchBrowser, RP_CALLBACK, SECRET, startOidcWebiso, submitLogin, type OidcWebiso } from './support.ts';

/**
 * What webiso's OpenID Provider refuses: unregistered redirect URIs (the look-alike corpus shared
 * with the native and CAS matchers), a replayed code (and the tokens it gave), a wrong PKCE
 * verifier, a wrong client secret; and which identity a kiosk machine gets, per client.
 */
/** The OAuth error code of an openid-client rejection: in the body, or in a WWW-Authenticate challenge. */
function oauthError(error: unknown): string | undefined {
  const { error: code, cause } = error as { error?: string; cause?: unknown };
  if (code) return code;
  return Array.isArray(cause) ? (cause[0] as { parameters?: { error?: string } } | undefined)?.parameters?.error : undefined;
}

describe('OpenID Provider refusals and machine identities', () => {
  let op: OidcWebiso;
  let config: client.Configuration;

  before(async () => {
    op = await startOidcWebiso({
      apps: [
        { id: 'strict', name: 'Strict App', oidc: { clientId: 'strict-client', redirectUris: [...REGISTERED], scopes: ['openid'] } },
        { id: 'people', name: 'People Only', oidc: { clientId: 'people-client', redirectUris: [RP_CALLBACK], flavor: 'machineoruser', refuseMachines: true } },
      ],
    });
    config = await discover(op);
  });
  after(async () => op.close());

  async function codeFor(browser: FetchBrowser) {
    const start = await authorizationUrl(config);
    const callback = await submitLogin(browser, await browser.walk(start.url, op.base), op.base);
    assert.ok(callback.location?.startsWith(RP_CALLBACK));
    return { start, callback: callback.location };
  }

  /** A browser holding a freshly minted machine cookie of a new kiosk. */
  async function kioskBrowser(): Promise<FetchBrowser & { fqdn: string }> {
    const browser = new FetchBrowser();
    const operations = op.webiso.webiso.machines.operations;
    const fqdn = `kiosk-${Math.random().toString(36).slice(2, 8)}.library.example.edu`;
    await operations.add(fqdn, { entitlements: ['library-walk-in'], location: 'Main library, floor 2' }, { name: 'test' });
    browser.cookies.set(MACHINE_COOKIE, (await operations.mint(fqdn, 30, { name: 'test' })).cookie);
    return Object.assign(browser, { fqdn });
  }

  it('answers a redirect URI that is not registered exactly with an error page and no redirect', async () => {
    const browser = new FetchBrowser();
    for (const [label, candidate] of LOOK_ALIKE_URLS) {
      const url = new URL(`${op.issuer}/auth`);
      url.search = new URLSearchParams({ client_id: 'strict-client', response_type: 'code', scope: 'openid', redirect_uri: candidate, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 's' }).toString();
      const hop = await browser.request(url.href);
      assert.equal(hop.status, 400, label);
      assert.equal(hop.location, undefined, `${label}: no redirect`);
      assert.match(hop.headers.get('content-type') ?? '', /text\/html/, label);
      assert.match(hop.body, /not registered with webiso/, label);
      assert.ok(!hop.body.includes('code='), label);
    }
  });

  it('refuses a replayed code and revokes the tokens that code gave', async () => {
    const browser = new FetchBrowser();
    const { start, callback } = await codeFor(browser);
    const tokens = await exchange(config, callback, start);
    assert.equal((await client.fetchUserInfo(config, tokens.access_token, 'alice')).sub, 'alice');
    await assert.rejects(exchange(config, callback, start), (error: unknown) => oauthError(error) === 'invalid_grant');
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, 'alice'), (error: unknown) => oauthError(error) === 'invalid_token');
  });

  it('redeems a code once when 20 token requests race with it: one set of tokens, every other request invalid_grant', async () => {
    const browser = new FetchBrowser();
    const { start, callback } = await codeFor(browser);
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => exchange(config, callback, start)));
    const redeemed = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [oauthError(outcome.reason)] : []));
    assert.equal(redeemed.length, 1, `exactly one exchange succeeds: ${JSON.stringify(refused)}`);
    assert.deepEqual([...new Set(refused)], ['invalid_grant'], 'the others are refused as a used code, never a server error');
  });

  it('refuses a code with the wrong PKCE verifier', async () => {
    const browser = new FetchBrowser();
    const { start, callback } = await codeFor(browser);
    await assert.rejects(exchange(config, callback, { ...start, verifier: client.randomPKCECodeVerifier() }), (error: unknown) => oauthError(error) === 'invalid_grant');
  });

  it('refuses an authorization request without PKCE', async () => {
    const browser = new FetchBrowser();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: RP_CALLBACK, scope: 'openid', state: 's' });
    const hop = await browser.request(url.href);
    const location = new URL(hop.location ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /PKCE/i);
  });

  it('refuses the token request of a client with the wrong secret', async () => {
    const browser = new FetchBrowser();
    const { start, callback } = await codeFor(browser);
    const wrong = await discover(op, 'rp-client', {}, client.ClientSecretBasic(`${SECRET}-wrong`));
    await assert.rejects(exchange(wrong, callback, start), (error: unknown) => oauthError(error) === 'invalid_client');
    const wrongPost = await discover(op, 'rp-client', {}, client.ClientSecretPost(`${SECRET}-wrong`));
    await assert.rejects(exchange(wrongPost, callback, start), (error: unknown) => oauthError(error) === 'invalid_client');
    // the refused attempts did not spend the code: the right secret (sent as client_secret_post) redeems it
    const post = await discover(op, 'rp-client', {}, client.ClientSecretPost(SECRET));
    assert.equal((await exchange(post, callback, start)).claims()?.sub, 'alice');
  });

  it('gives a kiosk machine host/<fqdn> with its entitlements at a machineoruser client', async () => {
    const browser = await kioskBrowser();
    const start = await authorizationUrl(config, { scope: 'openid profile machine' });
    const hop = await browser.walk(start.url, op.base);
    assert.ok(hop.location?.startsWith(`${RP_CALLBACK}?code=`), `no prompt for the machine, got ${hop.status}`);
    const tokens = await exchange(config, hop.location, start);
    const { fqdn } = browser;
    assert.equal(tokens.claims()?.sub, `host/${fqdn}`);
    assert.equal(tokens.claims()?.webiso_kind, 'machine');
    assert.deepEqual(tokens.claims()?.amr, ['machine-cookie']);
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, `host/${fqdn}`);
    assert.equal(userinfo.machine_fqdn, fqdn);
    assert.equal(userinfo.machine_location, 'Main library, floor 2');
    assert.deepEqual(userinfo.entitlements, ['library-walk-in']);
  });

  it('prompts for a person when a client refuses machines, even on a kiosk', async () => {
    const browser = await kioskBrowser();
    const people = await discover(op, 'people-client', {}, client.None());
    const start = await authorizationUrl(people);
    const page = await browser.walk(start.url, op.base);
    assert.equal(page.status, 200);
    assert.match(page.body, /name="password"/);
    const passive = await browser.walk((await authorizationUrl(people, { prompt: 'none' })).url, op.base);
    assert.equal(new URL(passive.location ?? '').searchParams.get('error'), 'login_required', 'passive: no person, no machine');
  });
});
