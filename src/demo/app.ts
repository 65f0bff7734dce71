import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { CryptoKey, JWK } from 'jose';
import {
  decryptCredentials,
  webisoAuth,
  writeCredentialCache,
  type CookieSecret,
  type SessionIdentity,
  type WebisoAuthOptions,
  type WebisoCredsHookArgs,
} from '../client/index.ts';
import { html, type SafeHtml } from './html.ts';
import { DEMO_CSP, layout } from './layout.ts';
import { formatTime } from '../time-format.ts';

export interface DemoAppOptions {
  /** webiso's issuer URL, e.g. `http://localhost:8080`. */
  issuer: string;
  /** Default `demo`. */
  appId?: string;
  /** Default `http://localhost:8081`; webiso's default config registers `{publicUrl}/webiso/callback`. */
  publicUrl?: string;
  cookieSecret: CookieSecret;
  logger?: FastifyServerOptions['logger'];
  /** getcred demo: a `/mail` page that asks for a ticket for `target`, decrypted with `privateKey` and saved in `ccacheDir`. */
  getcred?: DemoGetcredOptions;
  /** Extra plugin options, e.g. a local `jwks`, a fake `now`, a shared `replayStore` or `endedSessionStore`. */
  auth?: Partial<Omit<WebisoAuthOptions, 'issuer' | 'appId' | 'publicUrl' | 'cookieSecret'>>;
}

const LOGOUT_PATH = '/webiso/logout';
/** Register `{publicUrl}/webiso/backchannel-logout` as the demo's `logout.backchannelUrl` at webiso. */
const BACKCHANNEL_LOGOUT_PATH = '/webiso/backchannel-logout';

export interface DemoGetcredOptions {
  target: string;
  privateKey: CryptoKey | KeyObject | JWK;
  ccacheDir: string;
}

interface ReceivedTicket {
  readonly file: string;
  readonly bytes: number;
}

/** Decrypts the posted ticket and keeps it in a 0600 file, as a real app would before using it. */
function ticketReceiver(getcred: DemoGetcredOptions, received: Map<string, ReceivedTicket>) {
  return async ({ creds, identity }: WebisoCredsHookArgs) => {
    if (identity.kind !== 'user') return;
    const ccache = await decryptCredentials(creds, identity, getcred.privateKey);
    const file = join(getcred.ccacheDir, `${identity.username}-${randomBytes(6).toString('hex')}.ccache`);
    await writeCredentialCache(file, ccache);
    received.set(identity.username, { file, bytes: ccache.length });
  };
}

function mailBody(identity: SessionIdentity | null, target: string, ticket: ReceivedTicket | undefined): SafeHtml {
  if (identity === null) return html`<p>Not logged in.</p>`;
  const status = ticket
    ? html`<p>A Kerberos ticket for <code data-field="target">${target}</code> arrived, encrypted to this app, and was saved to <code data-field="ccache">${ticket.file}</code> (${String(ticket.bytes)} bytes).</p>`
    : html`<p>No ticket has arrived for this session.</p>`;
  return html`${status}${identityDetails(identity)}<p>${logoutForm()}</p>`;
}

function sendHtml(reply: FastifyReply, title: string, body: SafeHtml): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    // Every page shows who is logged in: a back button on a kiosk must not bring back the last person.
    .header('cache-control', 'no-store')
    .header('content-security-policy', DEMO_CSP)
    .header('x-content-type-options', 'nosniff')
    .send(layout(title, body));
}

function authTimeText(authTime: number): string {
  return formatTime(authTime, String(authTime));
}

function whoRows(identity: SessionIdentity): SafeHtml {
  switch (identity.kind) {
    case 'user':
      return html`<dt>Username</dt><dd data-field="username">${identity.username}</dd>`;
    case 'machine':
      return html`<dt>Machine</dt><dd data-field="machine">${identity.fqdn}</dd>
<dt>Entitlements</dt><dd data-field="entitlements">${identity.entitlements.join(', ') || '(none)'}</dd>`;
  }
}

function identityDetails(identity: SessionIdentity): SafeHtml {
  return html`<dl>
${whoRows(identity)}
<dt>Kind</dt><dd data-field="kind">${identity.kind}</dd>
<dt>Flavor</dt><dd data-field="flavor">${identity.flavor}</dd>
<dt>Authentication methods</dt><dd data-field="amr">${identity.amr.join(', ') || '(none)'}</dd>
<dt>Authenticated at</dt><dd data-field="auth-time">${authTimeText(identity.authTime)}</dd>
</dl>`;
}

function logoutForm(): SafeHtml {
  // A POST form, not a link: logging out changes state and must not be triggered by a prefetch or an <img>.
  return html`<form method="post" action="${LOGOUT_PATH}"><button type="submit" class="link">Log out of the demo app</button></form>`;
}

function homeStatus(identity: SessionIdentity | null, sessionEnded: boolean): SafeHtml {
  if (identity !== null) return html`<p>You are logged in to the demo app.</p>${identityDetails(identity)}`;
  if (sessionEnded) {
    return html`<p data-field="session-ended">Your demo app session has ended, because its webiso session was logged out.</p>
<p>You are not logged in to the demo app.</p>`;
  }
  return html`<p>You are not logged in to the demo app.</p>`;
}

function homeBody(identity: SessionIdentity | null, sessionEnded: boolean): SafeHtml {
  const status = homeStatus(identity, sessionEnded);
  return html`${status}
<ul>
<li><a href="/private">Log in (basic)</a></li>
<li><a href="/kiosk">Log in (machine or user)</a></li>
<li>${logoutForm()}</li>
</ul>
<p class="note">Logging out here ends only this app's session; your webiso single sign-on session stays.
Logging out of webiso ends this app's session too.</p>`;
}

function protectedBody(identity: SessionIdentity | null, what: string): SafeHtml {
  if (identity === null) return html`<p>Not logged in.</p>`;
  return html`<p>${what}</p>${identityDetails(identity)}<p>${logoutForm()}</p>`;
}

/** A small relying app: one public page and two protected ones. Never listens; the caller does. */
export function buildDemoApp(options: DemoAppOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({ logger: options.logger ?? false });
  const receivedTickets = new Map<string, ReceivedTicket>();
  app.register(webisoAuth, {
    ...options.auth,
    issuer: options.issuer,
    appId: options.appId ?? 'demo',
    publicUrl: options.publicUrl ?? 'http://localhost:8081',
    cookieSecret: options.cookieSecret,
    logoutPath: LOGOUT_PATH,
    backchannelLogoutPath: BACKCHANNEL_LOGOUT_PATH,
    ...(options.getcred ? { onCreds: ticketReceiver(options.getcred, receivedTickets) } : {}),
  });
  // Routes go in a later plugin so webisoRequire (decorated by webisoAuth) exists when they register.
  app.register(async (scope) => {
    scope.get('/', async (request, reply) => sendHtml(reply, 'Home', homeBody(request.webiso, request.webisoSessionEnded)));
    scope.get('/private', { preHandler: scope.webisoRequire({ flavor: 'basic' }) }, async (request, reply) =>
      sendHtml(reply, 'Private page', protectedBody(request.webiso, 'This page needs a personal (basic) login.')),
    );
    scope.get(
      '/kiosk',
      { preHandler: scope.webisoRequire({ flavor: 'machineoruser', allowMachine: true }) },
      async (request, reply) =>
        sendHtml(reply, 'Kiosk page', protectedBody(request.webiso, 'This page accepts a kiosk machine or a person.')),
    );
    const getcred = options.getcred;
    if (getcred) {
      scope.get('/mail', { preHandler: scope.webisoRequire({ flavor: 'getcred', target: getcred.target }) }, async (request, reply) => {
        const identity = request.webiso;
        const ticket = identity?.kind === 'user' ? receivedTickets.get(identity.username) : undefined;
        return sendHtml(reply, 'Mail', mailBody(identity, getcred.target, ticket));
      });
    }
  });
  return app;
}
