import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../config/schema.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import type { NewDelivery } from './deliveries-repository.ts';
import type { Participant } from './participants-repository.ts';
import { opIssuer } from '../oidc/issuer.ts';

/** A session to end: an SSO row (idHash) or a kiosk machine's session, which has no row. */
export interface SessionToEnd {
  readonly idHash?: string | undefined;
  readonly sid: string;
  /** the username, or machine:<fqdn> */
  readonly subject: string;
  readonly kind: 'user' | 'machine';
}

export type EndReason = 'logout' | 'expired' | 'replaced' | 'admin' | 'account_disabled' | 'machine_revoked';

/** What the logout page tells the person, per app the session reached. */
export interface LoggedOutApp {
  readonly sid: string;
  readonly appId: string;
  readonly name: string;
  /** told server to server (a logout token, or CAS logout requests): delivered after this page */
  readonly toldDirectly: boolean;
  /** loaded in an iframe of the logout page */
  readonly frontchannelUrl?: string | undefined;
  /** the `iss` the front-channel URL gets: the OpenID Provider's issuer for an OIDC client */
  readonly frontchannelIssuer?: string | undefined;
}

function deliveriesFor(app: AppConfig, participants: readonly Participant[], reason: EndReason): NewDelivery[] {
  const [first] = participants;
  if (!first) return [];
  const deliveries: NewDelivery[] = [];
  const base = { sid: first.sid, appId: app.id, subject: first.subject, kind: first.kind, reason };
  // an app that got ID tokens from this session is told in OIDC's terms (issuer, client id, the ID token's sid)
  const channel = app.oidc && participants.some((participant) => participant.protocol === 'oidc') ? 'oidc' : 'backchannel';
  if (app.logout?.backchannelUrl) deliveries.push({ ...base, channel, url: app.logout.backchannelUrl });
  if (app.cas?.singleLogout) {
    for (const participant of participants) {
      if (participant.casTicket && participant.casService) deliveries.push({ ...base, channel: 'cas', url: participant.casService, casTicket: participant.casTicket });
    }
  }
  return deliveries;
}

function groupByApp(participants: readonly Participant[]): Map<string, Participant[]> {
  const byApp = new Map<string, Participant[]>();
  for (const participant of participants) byApp.set(participant.appId, [...(byApp.get(participant.appId) ?? []), participant]);
  return byApp;
}

/**
 * Ends sessions and every app session that came from them: in one transaction the SSO rows are
 * deleted, the session index is turned into outbox rows and cleared, and `alsoInTransaction`
 * (e.g. the replacing session's insert) runs; after the commit the deliverer is kicked. Returns
 * the apps reached, for the logout page.
 */
export interface EndOptions {
  readonly log: FastifyBaseLogger;
  /** who ended it, when a request did (audit) */
  readonly clientIp?: string | undefined;
  /** runs inside the same transaction (the replacing session's insert) */
  readonly alsoInTransaction?: (() => void) | undefined;
}

export function endSessions(services: WebisoServices, sessions: readonly SessionToEnd[], reason: EndReason, { log, clientIp, alsoInTransaction }: EndOptions): LoggedOutApp[] {
  const now = nowSeconds(services);
  const giveUpAt = now + services.config.logout.retryForSeconds;
  const summaries: Array<{ session: SessionToEnd; apps: LoggedOutApp[]; deliveries: number; existed: boolean }> = [];
  services.db.transaction(() => {
    for (const session of sessions) {
      const existed = session.idHash ? services.sessions.deleteByIdHash(session.idHash) : true;
      const apps: LoggedOutApp[] = [];
      let deliveries = 0;
      for (const [appId, participants] of groupByApp(services.participants.take(session.sid))) {
        const app = services.config.apps.find((candidate) => candidate.id === appId);
        if (!app) continue;
        const queued = deliveriesFor(app, participants, reason);
        for (const delivery of queued) services.logoutDeliveries.enqueue(delivery, now, giveUpAt);
        deliveries += queued.length;
        const oidcIssuer = app.oidc && participants.some((participant) => participant.protocol === 'oidc') ? opIssuer(services.config) : undefined;
        apps.push({ sid: session.sid, appId, name: app.name, toldDirectly: queued.length > 0, frontchannelUrl: app.logout?.frontchannelUrl, frontchannelIssuer: oidcIssuer });
      }
      summaries.push({ session, apps, deliveries, existed });
    }
    alsoInTransaction?.();
  })();
  for (const { session, apps, deliveries, existed } of summaries) {
    if (!existed && apps.length === 0) continue;
    services.audit.record({ event: 'session.ended', username: session.subject, clientIp, detail: `reason=${reason} apps=${apps.map((app) => app.appId).join(',') || '-'} deliveries=${deliveries}` }, log);
  }
  if (summaries.some((summary) => summary.deliveries > 0)) services.logoutDeliverer.kick();
  return summaries.flatMap((summary) => summary.apps);
}

/** An account's every session (an admin's "log out everywhere", a disabled account): one action, every app. */
export function endSessionsOfUser(services: WebisoServices, username: string, reason: EndReason, options: EndOptions): { sessions: number; apps: LoggedOutApp[] } {
  const sessions = services.sessions.ofUser(username).map((session) => ({ idHash: session.idHash, sid: session.sid, subject: session.username, kind: 'user' as const }));
  return { sessions: sessions.length, apps: endSessions(services, sessions, reason, options) };
}

/** A kiosk's machine sessions (its cookie was revoked or the machine suspended): the apps that hold its identity are told. */
export function endSessionsOfMachine(services: WebisoServices, fqdn: string, reason: EndReason, options: EndOptions): LoggedOutApp[] {
  const subject = `machine:${fqdn}`;
  const sessions = services.participants.sidsOf(subject).map((sid) => ({ sid, subject, kind: 'machine' as const }));
  return endSessions(services, sessions, reason, options);
}
