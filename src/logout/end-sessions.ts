import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../config/schema.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import { createSessionsRepository } from '../db/sessions.ts';
import { opIssuer } from '../oidc/issuer.ts';
import type { Queryable } from '../store/store.ts';
import { createDeliveriesRepository, type NewDelivery } from './deliveries-repository.ts';
import { createParticipantsRepository, type Participant } from './participants-repository.ts';

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

/** What a transaction ended, to be announced (audit, delivery) once it has committed. */
export interface EndedSessions {
  readonly reason: EndReason;
  readonly summaries: ReadonlyArray<{ readonly session: SessionToEnd; readonly apps: readonly LoggedOutApp[]; readonly deliveries: number; readonly existed: boolean }>;
}

/**
 * The transaction's part of ending sessions, in the caller's transaction `trx`: the SSO rows are
 * deleted and the session index is turned into outbox rows and cleared. Only queries run here.
 * The caller commits, then calls announceEndedSessions (audit, and the deliverer is kicked).
 * Safe when two hosts end one session at once: the index rows are taken by DELETE … RETURNING,
 * so each delivery is queued by one of them.
 */
export async function endSessionsIn(trx: Queryable, services: WebisoServices, sessions: readonly SessionToEnd[], reason: EndReason): Promise<EndedSessions> {
  const now = nowSeconds(services);
  const giveUpAt = now + services.config.logout.retryForSeconds;
  const sessionRows = createSessionsRepository(trx);
  const index = createParticipantsRepository(trx);
  const outbox = createDeliveriesRepository(trx);
  const summaries: Array<EndedSessions['summaries'][number]> = [];
  for (const session of sessions) {
    const existed = session.idHash ? await sessionRows.deleteByIdHash(session.idHash) : true;
    const apps: LoggedOutApp[] = [];
    let deliveries = 0;
    for (const [appId, participants] of groupByApp(await index.take(session.sid))) {
      const app = services.config.apps.find((candidate) => candidate.id === appId);
      if (!app) continue;
      const queued = deliveriesFor(app, participants, reason);
      for (const delivery of queued) await outbox.enqueue(delivery, now, giveUpAt);
      deliveries += queued.length;
      const oidcIssuer = app.oidc && participants.some((participant) => participant.protocol === 'oidc') ? opIssuer(services.config) : undefined;
      apps.push({ sid: session.sid, appId, name: app.name, toldDirectly: queued.length > 0, frontchannelUrl: app.logout?.frontchannelUrl, frontchannelIssuer: oidcIssuer });
    }
    summaries.push({ session, apps, deliveries, existed });
  }
  return { reason, summaries };
}

export interface AnnounceOptions {
  readonly log: FastifyBaseLogger;
  /** who ended it, when a request did (audit) */
  readonly clientIp?: string | undefined;
}

/** After the ending transaction committed: audits each ended session and starts the deliveries. Returns the apps reached, for the logout page. */
export function announceEndedSessions(services: WebisoServices, ended: EndedSessions, { log, clientIp }: AnnounceOptions): LoggedOutApp[] {
  for (const { session, apps, deliveries, existed } of ended.summaries) {
    if (!existed && apps.length === 0) continue;
    services.audit.record({ event: 'session.ended', username: session.subject, clientIp, detail: `reason=${ended.reason} apps=${apps.map((app) => app.appId).join(',') || '-'} deliveries=${deliveries}` }, log);
  }
  if (ended.summaries.some((summary) => summary.deliveries > 0)) services.logoutDeliverer.kick();
  return ended.summaries.flatMap((summary) => summary.apps);
}

export interface EndOptions extends AnnounceOptions {
  /** runs inside the same transaction, after the sessions are ended (e.g. the replacing session's insert over `trx`) */
  readonly alsoInTransaction?: ((trx: Queryable) => Promise<unknown>) | undefined;
}

/**
 * Ends sessions and every app session that came from them, in one transaction of its own
 * (endSessionsIn, then `alsoInTransaction`); after the commit the ends are audited and the
 * deliverer is kicked. Returns the apps reached, for the logout page.
 */
export async function endSessions(services: WebisoServices, sessions: readonly SessionToEnd[], reason: EndReason, options: EndOptions): Promise<LoggedOutApp[]> {
  const { alsoInTransaction } = options;
  if (sessions.length === 0 && !alsoInTransaction) return [];
  const ended = await services.store.transaction(async (trx) => {
    const result = await endSessionsIn(trx, services, sessions, reason);
    await alsoInTransaction?.(trx);
    return result;
  });
  return announceEndedSessions(services, ended, options);
}

/** An account's every session (an admin's "log out everywhere", a disabled account): one action, every app. */
export async function endSessionsOfUser(services: WebisoServices, username: string, reason: EndReason, options: AnnounceOptions): Promise<{ sessions: number; apps: LoggedOutApp[] }> {
  const ended = await services.store.transaction(async (trx) => {
    const rows = await createSessionsRepository(trx).ofUser(username);
    return endSessionsIn(trx, services, rows.map((session) => ({ idHash: session.idHash, sid: session.sid, subject: session.username, kind: 'user' as const })), reason);
  });
  return { sessions: ended.summaries.length, apps: announceEndedSessions(services, ended, options) };
}

/** A kiosk's machine sessions (its cookie was revoked or the machine suspended): the apps that hold its identity are told. */
export async function endSessionsOfMachine(services: WebisoServices, fqdn: string, reason: EndReason, options: AnnounceOptions): Promise<LoggedOutApp[]> {
  const subject = `machine:${fqdn}`;
  const ended = await services.store.transaction(async (trx) => {
    const sids = await createParticipantsRepository(trx).sidsOf(subject);
    return endSessionsIn(trx, services, sids.map((sid) => ({ sid, subject, kind: 'machine' as const })), reason);
  });
  return announceEndedSessions(services, ended, options);
}
