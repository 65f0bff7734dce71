import { decodeJwt } from 'jose';
import { hashSessionId } from '../../src/db/sessions.ts';
import type { Store } from '../../src/store/store.ts';
import { FetchBrowser, formField } from './served-webiso.ts';

/**
 * Mixed load against served webiso processes that may die mid-run (kill -9), recording only what
 * the clients saw acknowledged, and the check that none of it was lost (test/durability/crash.test.ts,
 * test/store/host-failover.test.ts).
 */
export const PASSWORD = 'a crash-proof passphrase';
export const RETURN = 'http://127.0.0.1:9/cb';
export const SERVICE = 'http://127.0.0.1:9/cas/';

/** The apps of a served config for this load. */
export const LOAD_APPS = ['throttle: { maxFailuresPerAccount: 100 }', 'apps:', `  - { id: app, name: App, returnUrls: ['${RETURN}'] }`, `  - { id: casapp, name: CAS App, cas: { services: ['${SERVICE}'] } }`];

const field = formField;
const grantJti = (html: string) => String(decodeJwt(field(html, 'grant')).jti);
const loginPath = `/login?${new URLSearchParams({ appid: 'app', return: RETURN, nonce: 'n-crash' })}`;

/** What the clients saw acknowledged before the server died. */
export interface Acknowledged {
  grants: string[];
  sessions: string[];
  validations: number;
}

export const nothingAcknowledged = (): Acknowledged => ({ grants: [], sessions: [], validations: 0 });

async function logIn(browser: FetchBrowser): Promise<string> {
  const form = await browser.get(loginPath);
  const answer = await browser.post('/login', { ctx: field(form.body, 'ctx'), csrf: field(form.body, 'csrf'), username: 'alice', password: PASSWORD });
  if (answer.status !== 200 || !answer.body.includes('name="grant"')) throw new Error(`login answered ${answer.status}`);
  return grantJti(answer.body);
}

/** Mixed load until the server dies: password logins, SSO redirects, CAS logins with validations. */
export async function mixedLoad(url: string, acknowledged: Acknowledged): Promise<void> {
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

/** What of the acknowledged work the store lacks: grants without their audit row, logins without their session. */
export async function lostWork(store: Store, acknowledged: Acknowledged) {
  const issuedRows = await store.db.selectFrom('auth_events').select('detail').where('event', '=', 'grant.issued').execute();
  const issued = new Set(issuedRows.map((row) => (row.detail ?? '').slice(4, 12)));
  const stored = new Set((await store.db.selectFrom('sessions').select('id_hash').execute()).map((row) => row.id_hash));
  const validated = await store.db.selectFrom('auth_events').select((eb) => eb.fn.countAll<number>().as('n')).where('event', '=', 'cas.ticket.validated').executeTakeFirstOrThrow();
  return {
    grants: acknowledged.grants.filter((jti) => !issued.has(jti.slice(0, 8))),
    sessions: acknowledged.sessions.filter((cookie) => !stored.has(hashSessionId(cookie))),
    validationsAudited: Number(validated.n),
  };
}
