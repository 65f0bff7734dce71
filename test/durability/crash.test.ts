import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { openAndMigrate } from '../../src/db/database.ts';
import { hashSessionId } from '../../src/db/sessions.ts';
import { FetchBrowser, formField, startServedWebiso, writeServedConfig } from '../support/served-webiso.ts';

const PASSWORD = 'a crash-proof passphrase';
const RETURN = 'http://127.0.0.1:9/cb';
const SERVICE = 'http://127.0.0.1:9/cas/';

const field = formField;
const grantJti = (html: string) => String(decodeJwt(field(html, 'grant')).jti);
const loginPath = `/login?${new URLSearchParams({ appid: 'app', return: RETURN, nonce: 'n-crash' })}`;

/** What the clients saw acknowledged before the server died. */
interface Acknowledged {
  grants: string[];
  sessions: string[];
  validations: number;
}

async function logIn(browser: FetchBrowser): Promise<string> {
  const form = await browser.get(loginPath);
  const answer = await browser.post('/login', { ctx: field(form.body, 'ctx'), csrf: field(form.body, 'csrf'), username: 'alice', password: PASSWORD });
  if (answer.status !== 200 || !answer.body.includes('name="grant"')) throw new Error(`login answered ${answer.status}`);
  return grantJti(answer.body);
}

/** Mixed load until the server dies: password logins, SSO redirects, CAS logins with validations. */
async function mixedLoad(url: string, acknowledged: Acknowledged): Promise<void> {
  const passwordLogins = async () => {
    for (;;) {
      const browser = new FetchBrowser(url);
      acknowledged.grants.push(await logIn(browser));
      acknowledged.sessions.push(browser.cookies.get('__Host-webiso_login')!);
    }
  };
  const ssoRedirects = async () => {
    const browser = new FetchBrowser(url);
    acknowledged.grants.push(await logIn(browser));
    for (;;) acknowledged.grants.push(grantJti((await browser.get(loginPath)).body));
  };
  const casValidations = async () => {
    const browser = new FetchBrowser(url);
    await logIn(browser);
    for (;;) {
      const ticket = new URL((await browser.get(`/cas/login?service=${encodeURIComponent(SERVICE)}`)).location!).searchParams.get('ticket')!;
      const xml = await (await fetch(`${url}/cas/p3/serviceValidate?${new URLSearchParams({ service: SERVICE, ticket })}`)).text();
      if (xml.includes('<cas:user>alice</cas:user>')) acknowledged.validations += 1;
    }
  };
  // every worker ends with a connection error when the server is killed
  await Promise.allSettled([passwordLogins(), passwordLogins(), ssoRedirects(), ssoRedirects(), casValidations(), casValidations()]);
}

describe('durability: kill -9 under mixed load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webiso-crash-'));
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('every acknowledged grant has its audit row, every acknowledged login its session, and the database is intact', async () => {
    const configPath = await writeServedConfig(dir, ['throttle: { maxFailuresPerAccount: 100 }', 'apps:', `  - { id: app, name: App, returnUrls: ['${RETURN}'] }`, `  - { id: casapp, name: CAS App, cas: { services: ['${SERVICE}'] } }`], ['alice'], PASSWORD);
    const server = await startServedWebiso(configPath);
    child = server.child;
    const acknowledged: Acknowledged = { grants: [], sessions: [], validations: 0 };
    const load = mixedLoad(server.url, acknowledged);
    await new Promise((r) => setTimeout(r, 2500));
    server.child.kill('SIGKILL');
    await once(server.child, 'exit');
    await load;
    assert.ok(acknowledged.grants.length > 10 && acknowledged.sessions.length > 2 && acknowledged.validations > 2, `enough load: ${JSON.stringify({ grants: acknowledged.grants.length, sessions: acknowledged.sessions.length, validations: acknowledged.validations })}`);

    const db = openAndMigrate(join(dir, 'data'));
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const issued = new Set(db.prepare<[], { detail: string }>("SELECT detail FROM auth_events WHERE event = 'grant.issued'").all().map((row) => row.detail.slice(4, 12)));
      const missing = acknowledged.grants.filter((jti) => !issued.has(jti.slice(0, 8)));
      assert.deepEqual(missing, [], 'no acknowledged grant lost its audit row');
      const sessions = db.prepare('SELECT count(*) FROM sessions WHERE id_hash = ?').pluck();
      assert.deepEqual(acknowledged.sessions.filter((cookie) => sessions.get(hashSessionId(cookie)) !== 1), [], 'no acknowledged login lost its session');
      const validated = db.prepare("SELECT count(*) FROM auth_events WHERE event = 'cas.ticket.validated'").pluck().get() as number;
      assert.ok(validated >= acknowledged.validations, `${validated} validations audited for ${acknowledged.validations} acknowledged`);
    } finally {
      db.close();
    }
  });
});
