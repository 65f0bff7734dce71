import { DOMParser } from '@xmldom/xmldom';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { WebisoConfig } from '../../src/config/schema.ts';
import { ADMIN, ALICE, formCsrf, KIOSK } from './machines.ts';
import { CookieJar, FORM, hiddenField, HTML, testConfig } from './webiso.ts';

export const CAS_NS = 'http://www.yale.edu/tp/cas';
export const SERVICE = 'https://cas.example.edu/secure/page.php?x=1';
export const KIOSK_SERVICE = 'https://cas.example.edu/kiosk/index.php';

/** `portal` speaks CAS with basic for /secure/; `kiosk` is machineoruser under /kiosk/ on the same host. */
export function casConfig(overrides: Record<string, unknown> = {}): WebisoConfig {
  return testConfig({
    apps: [
      { id: 'portal', name: 'Portal', cas: { services: ['https://cas.example.edu/secure/', 'https://app.example.edu/webiso/callback', 'https://app.example.edu:8443/other/'] } },
      { id: 'kiosk', name: 'Library catalogue', cas: { services: ['https://cas.example.edu/kiosk/'], flavor: 'machineoruser' } },
      { id: 'app', name: 'Example App', returnUrls: ['https://native.example.edu/cb'] },
    ],
    machines: { mintPolicy: [{ roles: ['admin'], fqdns: ['*.kiosk.example.edu'] }] },
    ...overrides,
  });
}

export const CAS_USERS = [ADMIN, { ...ALICE, roles: ['staff', 'library'] }];
export { KIOSK };

export function loginUrl(service: string, extra: Record<string, string> = {}): string {
  return `/cas/login?${new URLSearchParams({ service, ...extra }).toString()}`;
}

export async function casGet(app: FastifyInstance, jar: CookieJar, url: string): Promise<LightMyRequestResponse> {
  const response = await app.inject({ method: 'GET', url, headers: { ...HTML, ...jar.header(), 'user-agent': 'KioskBrowser/1.0' } });
  jar.store(response);
  return response;
}

/** The ticket in a 302 to the service, if there is one. */
export function ticketOf(response: LightMyRequestResponse): string | undefined {
  const location = response.headers.location;
  if (typeof location !== 'string') return undefined;
  return new URL(location).searchParams.get('ticket') ?? undefined;
}

/** /cas/login, then the password form if one is shown; returns the final response (a 302 with a ticket). */
export async function casLogin(
  app: FastifyInstance,
  { service = SERVICE, jar = new CookieJar(), extra = {}, user = ALICE }: { service?: string; jar?: CookieJar; extra?: Record<string, string>; user?: { name: string; password: string } } = {},
) {
  const first = await casGet(app, jar, loginUrl(service, extra));
  const ctx = hiddenField(first.body, 'ctx');
  // the login form's token, not the kiosk banner's "end my session" form's
  const csrf = formCsrf(first.body, '/cas/login');
  if (!ctx || !csrf) return { first, response: first, jar, prompted: false, ticket: ticketOf(first) };
  const response = await app.inject({
    method: 'POST',
    url: '/cas/login',
    headers: { ...HTML, ...jar.header(), ...FORM },
    payload: new URLSearchParams({ ctx, csrf, username: user.name, password: user.password }).toString(),
  });
  jar.store(response);
  return { first, response, jar, prompted: true, ticket: ticketOf(response) };
}

export async function validate(app: FastifyInstance, path: string, params: Record<string, string>) {
  return app.inject({ method: 'GET', url: `${path}?${new URLSearchParams(params).toString()}` });
}

/** Parses a CAS XML answer strictly (any XML error fails the test) into user, attributes and failure. */
export function parseCasXml(body: string) {
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, message) => (level === 'warning' ? undefined : errors.push(`${level}: ${message}`)) }).parseFromString(body, 'application/xml');
  if (errors.length > 0) throw new Error(`not well-formed XML: ${errors.join('; ')}\n${body}`);
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== CAS_NS || root.localName !== 'serviceResponse') throw new Error(`not a CAS serviceResponse: ${body}`);
  const user = root.getElementsByTagNameNS(CAS_NS, 'user')[0]?.textContent ?? undefined;
  const attributes = new Map<string, string[]>();
  const container = root.getElementsByTagNameNS(CAS_NS, 'attributes')[0];
  for (let node = container?.firstChild; node; node = node.nextSibling) {
    if (node.nodeType !== 1) continue;
    const element = node as unknown as { localName: string; namespaceURI: string; textContent: string | null; childNodes: { length: number } };
    if (element.namespaceURI !== CAS_NS) throw new Error(`attribute outside the CAS namespace: ${element.localName}`);
    attributes.set(element.localName, [...(attributes.get(element.localName) ?? []), element.textContent ?? '']);
  }
  const failure = root.getElementsByTagNameNS(CAS_NS, 'authenticationFailure')[0];
  const elementCount = root.getElementsByTagName('*').length;
  return { user, attributes, failureCode: failure?.getAttribute('code') ?? undefined, failureText: failure?.textContent?.trim(), elementCount };
}
