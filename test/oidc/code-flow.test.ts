import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { startLogoutReceiver, type LogoutReceiver } from '../support/logout-receiver.ts';
import { ALICE, authorizationUrl, discover, exchange, FetchBrowser, RP_CALLBACK, RP_LOGGED_OUT, startOidcWebiso, submitLogin, hidden, type OidcWebiso } from './support.ts';

/**
 * openid-client (panva's certified RP library) against webiso listening on loopback: the code
 * flow with PKCE through webiso's login engine, the claims, prompt=none and prompt=login, refresh
 * tokens off, and single logout through webiso's outbox (back-channel) and RP-initiated logout.
 */
describe('OpenID Provider with openid-client as the relying party', () => {
  let op: OidcWebiso;
  let receiver: LogoutReceiver;
  let config: client.Configuration;

  before(async () => {
    receiver = await startLogoutReceiver();
    op = await startOidcWebiso({ logout: { backchannelUrl: `${receiver.url}/oidc-backchannel` } });
    config = await discover(op);
  });
  after(async () => {
    await op.close();
    await receiver.close();
  });

  async function logInThroughCodeFlow(browser: FetchBrowser, params: Record<string, string> = {}) {
    const start = await authorizationUrl(config, params);
    const page = await browser.walk(start.url, op.base);
    assert.equal(page.status, 200);
    assert.match(page.body, /name="password"/);
    const callback = await submitLogin(browser, page, op.base);
    assert.ok(callback.location?.startsWith(`${RP_CALLBACK}?`), `sent back to the client, got ${callback.location}`);
    return { start, callback: callback.location, tokens: await exchange(config, callback.location, start) };
  }

  it('publishes discovery under the issuer /oidc with webiso endpoints and ES256/RS256', () => {
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, op.issuer);
    assert.equal(metadata.authorization_endpoint, `${op.issuer}/auth`);
    assert.equal(metadata.end_session_endpoint, `${op.issuer}/session/end`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    for (const alg of ['ES256', 'RS256']) assert.ok(metadata.id_token_signing_alg_values_supported?.includes(alg), alg);
    for (const method of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) assert.ok(metadata.token_endpoint_auth_methods_supported?.includes(method), method);
    assert.equal(metadata.backchannel_logout_session_supported, true);
    assert.equal(metadata.registration_endpoint, undefined, 'no dynamic registration');
  });

  it('logs a person in with code + PKCE: ID token and userinfo carry sub, kind, amr, sid and roles on request', async () => {
    const browser = new FetchBrowser();
    const { tokens } = await logInThroughCodeFlow(browser, { scope: 'openid profile roles' });
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(decodeProtectedHeader(tokens.id_token ?? '').alg, 'ES256');
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.webiso_kind, 'user');
    assert.equal(claims.preferred_username, 'alice');
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(typeof claims.auth_time, 'number');
    const sids = (await op.webiso.webiso.store.db.selectFrom('session_participants').select('sid').where('app_id', '=', 'rp').where('protocol', '=', 'oidc').execute()).map((row) => row.sid);
    assert.ok(sids.includes(String(claims.sid)), 'the ID token sid is the webiso session recorded in the session index');
    assert.equal(tokens.refresh_token, undefined, 'refresh tokens are off by default');
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, 'alice');
    assert.equal(userinfo.webiso_kind, 'user');
    assert.deepEqual(userinfo.roles, [...ALICE.roles]);
  });

  it('refuses the refresh_token grant for a client without refreshTokens', async () => {
    await assert.rejects(client.refreshTokenGrant(config, 'not-a-real-token'), (error: unknown) => {
      const { error: code, error_description: description } = error as { error?: string; error_description?: string };
      assert.equal(code, 'invalid_request');
      assert.match(String(description), /grant type is not allowed for this client/);
      return true;
    });
  });

  it('prompt=none without a session sends login_required back to the client, never an identity', async () => {
    const browser = new FetchBrowser();
    const start = await authorizationUrl(config, { prompt: 'none' });
    const hop = await browser.walk(start.url, op.base);
    assert.equal(hop.status, 303);
    const location = new URL(hop.location ?? '');
    assert.equal(`${location.origin}${location.pathname}`, RP_CALLBACK);
    assert.equal(location.searchParams.get('error'), 'login_required');
    assert.equal(location.searchParams.get('code'), null);
    assert.equal(location.searchParams.get('state'), start.state);
  });

  it('prompt=none with a session answers without a password; prompt=login asks for it again', async () => {
    const browser = new FetchBrowser();
    const first = await logInThroughCodeFlow(browser);
    const start = await authorizationUrl(config, { prompt: 'none' });
    const hop = await browser.walk(start.url, op.base);
    assert.ok(hop.location?.startsWith(`${RP_CALLBACK}?code=`), `passive answer, got ${hop.status} ${hop.location}`);
    const tokens = await exchange(config, hop.location, start);
    assert.equal(tokens.claims()?.sub, 'alice');
    assert.equal(tokens.claims()?.sid, first.tokens.claims()?.sid, 'the same webiso session');
    const forced = await authorizationUrl(config, { prompt: 'login' });
    const page = await browser.walk(forced.url, op.base);
    assert.equal(page.status, 200);
    assert.match(page.body, /name="password"/);
    assert.match(page.body, /enter your password again/);
  });

  it('max_age older than the SSO login asks for the password', async () => {
    const browser = new FetchBrowser();
    await logInThroughCodeFlow(browser);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const start = await authorizationUrl(config, { max_age: '0' });
    const page = await browser.walk(start.url, op.base);
    assert.match(page.body, /name="password"/);
  });

  it('a webiso logout sends the client a back-channel logout token naming the ID token sid', async () => {
    const browser = new FetchBrowser();
    const { tokens } = await logInThroughCodeFlow(browser);
    const before = receiver.received.length;
    const confirm = await browser.request(`${op.base}/logout`);
    const done = await browser.request(`${op.base}/logout`, { form: { csrf: hidden(confirm.body, 'csrf') } });
    assert.equal(done.status, 200);
    const [delivery] = (await receiver.waitFor(before + 1)).slice(before);
    assert.equal(delivery?.path, '/oidc-backchannel');
    const jwks = createRemoteJWKSet(new URL(`${op.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(delivery?.fields.logout_token ?? '', jwks, { issuer: op.issuer, audience: 'rp-client', typ: 'logout+jwt' });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sid, tokens.claims()?.sid);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.nonce, undefined);
    assert.ok((payload.events as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout']);
  });

  it('RP-initiated logout ends the webiso session and returns to the registered URI with state', async () => {
    const browser = new FetchBrowser();
    const { tokens } = await logInThroughCodeFlow(browser);
    const before = receiver.received.length;
    const end = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? '', post_logout_redirect_uri: RP_LOGGED_OUT, state: 'xyz' });
    const confirm = await browser.request(end.href);
    assert.equal(confirm.status, 200);
    const done = await browser.request(`${op.base}/logout`, { form: { csrf: hidden(confirm.body, 'csrf'), return: hidden(confirm.body, 'return') } });
    assert.equal(done.status, 303);
    assert.equal(done.location, `${RP_LOGGED_OUT}?state=xyz`);
    await receiver.waitFor(before + 1);
    const again = await browser.walk((await authorizationUrl(config, { prompt: 'none' })).url, op.base);
    assert.equal(new URL(again.location ?? '').searchParams.get('error'), 'login_required', 'the webiso session is gone');
  });

  it('RP-initiated logout refuses a post-logout URI the client did not register', async () => {
    const browser = new FetchBrowser();
    const hop = await browser.request(`${op.issuer}/session/end?client_id=rp-client&post_logout_redirect_uri=${encodeURIComponent('https://evil.test/')}`);
    assert.equal(hop.status, 400);
    assert.equal(hop.location, undefined);
    assert.match(hop.body, /oidc_logout_request_invalid/);
  });
});
