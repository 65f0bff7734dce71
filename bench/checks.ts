// Before measuring, prove each target answers what it should: otherwise a fast figure could be a
// fast error page.
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';

export interface BareInfo {
  url: string;
}
export interface SigningInfo extends BareInfo {
  alg: string;
}
/** What bench/servers/webiso-workers.ts prints once every worker listens: enough for the SSO redirect. */
export interface SsoInfo extends BareInfo {
  issuer: string;
  alg: string;
  loginPath: string;
  cookie: string;
}
/** What bench/servers/webiso-server.ts prints once it listens. */
export interface WebisoInfo extends SsoInfo {
  casLoginPath: string;
  casService: string;
  ticketsFile: string;
  machinePath: string;
  machineCookie: string;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`pre-check failed: ${message}`);
}

const grantOf = (html: string) => /name="grant" value="([^"]+)"/.exec(html)?.[1];

async function ask(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers: { accept: 'text/html', ...headers }, redirect: 'manual' });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The SSO cookie yields a fresh grant that verifies against the JWKS; no cookie yields the login form. */
export async function checkSsoRedirect(info: SsoInfo): Promise<void> {
  const first = await ask(info.url + info.loginPath, { cookie: info.cookie });
  const second = await ask(info.url + info.loginPath, { cookie: info.cookie });
  const anonymous = await ask(info.url + info.loginPath, {});
  const grant = grantOf(first.body);
  check(first.status === 200 && grant !== undefined, `with the SSO cookie: status ${first.status}, grant field ${grant ? 'present' : 'missing'}`);
  check(grantOf(second.body) !== grant, 'a second request returned the same grant');
  check(anonymous.status === 200 && anonymous.body.includes('name="password"') && grantOf(anonymous.body) === undefined, 'without the cookie: no login form');
  const jwks = (await (await fetch(`${info.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(grant, createLocalJWKSet(jwks), { issuer: info.issuer, audience: 'bench', typ: 'webiso-grant+jwt' });
  check(protectedHeader.alg === info.alg && payload.sub === 'bench', `grant: alg ${protectedHeader.alg}, sub ${payload.sub}`);
}

/** The machine cookie yields a machine grant, no prompt. */
export async function checkMachinePath(info: WebisoInfo): Promise<void> {
  const answer = await ask(info.url + info.machinePath, { cookie: info.machineCookie });
  const grant = grantOf(answer.body);
  check(answer.status === 200 && grant !== undefined, `machine path: status ${answer.status}, no grant`);
  const claims = decodeJwt(grant);
  check(claims.kind === 'machine' && claims.machineFQDN === 'kiosk1.bench.example.edu', `machine path: kind ${String(claims.kind)}`);
}

/** /cas/login answers a 302 with a ticket, and a fresh ticket validates to the user. */
export async function checkCas(info: WebisoInfo): Promise<void> {
  const login = await ask(info.url + info.casLoginPath, { cookie: info.cookie });
  const location = login.headers.get('location') ?? '';
  check(login.status === 302 && location.startsWith(`${info.casService}?ticket=ST-`), `/cas/login answered ${login.status} ${location.slice(0, 60)}`);
  const ticket = new URL(location).searchParams.get('ticket') ?? '';
  const validation = await (await fetch(`${info.url}/cas/p3/serviceValidate?${new URLSearchParams({ service: info.casService, ticket })}`)).text();
  check(validation.includes('<cas:user>bench</cas:user>'), `validation of a fresh ticket: ${validation.slice(0, 200)}`);
}

export async function checkBare(info: BareInfo): Promise<void> {
  const response = await fetch(info.url);
  check(response.status === 200 && (await response.text()).includes('hello'), `bare server answered ${response.status}`);
}

/** The signing baseline returns a fresh compact JWS per request. */
export async function checkSigning(info: SigningInfo): Promise<void> {
  const [a, b] = [await (await fetch(info.url)).text(), await (await fetch(info.url)).text()];
  check(a.split('.').length === 3 && a !== b, 'the signing baseline did not return fresh tokens');
}
