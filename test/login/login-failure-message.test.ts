import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GENERIC_LOGIN_FAILURE } from '../../src/login/routes.ts';
import { ADMIN, adminLogin, createMachineTestApp, type MachineTestApp } from '../support/machines.ts';
import { attemptLogin, CookieJar, HTML, loginQuery } from '../support/webiso.ts';

/** The `<input …>` tag of a field, by id. */
function inputTag(html: string, id: string): string {
  const match = new RegExp(`<input[^>]*id="${id}"[^>]*>`).exec(html);
  assert.ok(match, `no input #${id}`);
  return match[0];
}

function assertRetypePassword(html: string, username: string): void {
  assert.match(inputTag(html, 'username'), new RegExp(`value="${username}"`), 'the typed username is kept');
  assert.doesNotMatch(inputTag(html, 'username'), /autofocus/, 'focus is not on the username again');
  assert.match(inputTag(html, 'password'), /autofocus/, 'focus is on the password field');
  assert.doesNotMatch(inputTag(html, 'password'), /value=/, 'the password is never sent back');
}

describe('the wrong-password message (issue 11, item 5)', () => {
  let t: MachineTestApp;
  before(async () => {
    t = await createMachineTestApp();
  });
  after(async () => t?.close());

  it('reads as a typo to fix, not as a lockout, and stays one message for every failure', () => {
    assert.match(GENERIC_LOGIN_FAILURE, /check|type/i, 'asks to check what was typed');
    assert.doesNotMatch(GENERIC_LOGIN_FAILURE, /later|too many attempts were made/i, 'does not announce a lockout on the first typo');
    // throttling shares the message (docs/security.md): it must still be honest about waiting
    assert.match(GENERIC_LOGIN_FAILURE, /wait/i);
  });

  it('/login keeps the typed username and puts the focus on the password after a wrong password', async () => {
    const { response } = await attemptLogin(t.app, { username: 'alice', password: 'typo' });
    assert.equal(response.statusCode, 401);
    assert.ok(response.body.includes(GENERIC_LOGIN_FAILURE));
    assertRetypePassword(response.body, 'alice');
    const unknown = (await attemptLogin(t.app, { username: 'nobody', password: 'typo' })).response;
    assert.ok(unknown.body.includes(GENERIC_LOGIN_FAILURE), 'an unknown user gets the same message');
  });

  it('a fresh /login form focuses the username', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/login?${loginQuery()}`, headers: HTML });
    assert.match(inputTag(response.body, 'username'), /autofocus/);
    assert.doesNotMatch(inputTag(response.body, 'password'), /autofocus/);
  });

  it('/admin/login does the same', async () => {
    const response = await adminLogin(t.app, new CookieJar(), { name: ADMIN.name, password: 'typo' });
    assert.equal(response.statusCode, 401);
    assert.ok(response.body.includes(GENERIC_LOGIN_FAILURE));
    assertRetypePassword(response.body, ADMIN.name);
  });
});
