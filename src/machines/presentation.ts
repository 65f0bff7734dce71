import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.ts';
import type { AlertsRepository, RaisedAlert } from './alerts-repository.ts';
import { detectAnomalies } from './anomaly.ts';
import type { MachinesConfig } from './config-schema.ts';
import { hashJti, type MachineClaims, type MachineCookieCheck, type MachineCookieRejection } from './machine-cookie.ts';
import type { Machine, MachinesRepository } from './machines-repository.ts';
import { networkKey } from './networks.ts';
import type { SightingsRepository } from './sightings-repository.ts';

/** Where a cookie was presented: the client IP is Fastify's request.ip (forwarded headers only from trusted proxies). */
export interface PresentationContext {
  readonly clientIp: string;
  readonly userAgent: string | undefined;
  readonly appId: string | undefined;
}

export type PresentationResult =
  | { readonly accepted: true; readonly machine: Machine; readonly claims: MachineClaims; readonly alerts: readonly RaisedAlert[] }
  | { readonly accepted: false; readonly reason: MachineCookieRejection; readonly fqdn: string | undefined; readonly alerts: readonly RaisedAlert[] };

/** A cookie issued a little in the future is tolerated (clock steps between processes); more is not ours. */
const ISSUED_AT_SKEW_SECONDS = 60;
const MAX_USER_AGENT = 512;

export interface PresenterDeps {
  readonly db: Db;
  readonly config: MachinesConfig;
  readonly machines: MachinesRepository;
  readonly sightings: SightingsRepository;
  readonly alerts: AlertsRepository;
  /** the effective invalid-before cutoff (config or CLI), unix seconds */
  readonly invalidBefore: () => number | undefined;
  readonly nowSeconds: () => number;
}

type Verdict =
  | { readonly ok: true; readonly machine: Machine; readonly claims: MachineClaims }
  | { readonly ok: false; readonly reason: MachineCookieRejection; readonly machine?: Machine | undefined };

// eslint-disable-next-line no-control-regex
const clean = (value: string | undefined, max: number) => (value === undefined ? null : value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD').slice(0, max));

export type Presenter = (check: MachineCookieCheck, context: PresentationContext, logger: FastifyBaseLogger) => PresentationResult;

/**
 * Judges a presented machine cookie against the clock, the invalid-before cutoff and the version
 * table, records the sighting and its address summary, runs the anomaly rules and raises alerts —
 * all in one IMMEDIATE transaction, so the verdict and the audit trail cannot disagree and a revoke
 * committed before it is always seen (no caching: revocation works on the very next request).
 */
export function createPresenter(deps: PresenterDeps): Presenter {
  function judge(check: MachineCookieCheck, at: number): Verdict {
    if (!check.authentic) return { ok: false, reason: check.reason };
    const { claims } = check;
    if (claims.exp <= at) return { ok: false, reason: 'expired' };
    if (claims.iat > at + ISSUED_AT_SKEW_SECONDS) return { ok: false, reason: 'issued_in_future' };
    const cutoff = deps.invalidBefore();
    if (cutoff !== undefined && claims.iat < cutoff) return { ok: false, reason: 'invalid_before' };
    const machine = deps.machines.find(claims.fqdn);
    if (!machine) return { ok: false, reason: 'unknown_machine' };
    if (claims.ver < machine.version) return { ok: false, reason: 'revoked_version', machine };
    if (claims.ver > machine.version) return { ok: false, reason: 'future_version', machine };
    if (machine.status !== 'active') return { ok: false, reason: 'suspended', machine };
    return { ok: true, machine, claims };
  }

  function anomaliesOf(machine: Machine, claims: MachineClaims, clientIp: string, network: string, at: number): RaisedAlert[] {
    const previous = deps.sightings.lastAccepted(machine.fqdn);
    return detectAnomalies({
      fqdn: machine.fqdn,
      at,
      clientIp,
      network,
      registeredNetworks: machine.networks,
      previous,
      sameCookie: deps.sightings.recentNetworksForJti(hashJti(claims.jti), at - deps.config.anomaly.cloneWindowSeconds),
      teleportWindowSeconds: deps.config.anomaly.teleportWindowSeconds,
    });
  }

  function autoSuspend(machine: Machine, alerts: readonly RaisedAlert[], context: PresentationContext, at: number): boolean {
    if (alerts.length === 0 || !deps.config.anomaly.autoSuspend) return false;
    if (!deps.machines.setStatus(machine.fqdn, 'active', 'suspended')) return false;
    deps.machines.addEvent({
      fqdn: machine.fqdn,
      action: 'auto_suspend',
      version: machine.version,
      actor: 'system:anomaly',
      at,
      clientIp: context.clientIp,
      reason: alerts.map((alert) => alert.rule).join(', '),
    });
    return true;
  }

  const presentTransaction = deps.db.transaction((check: MachineCookieCheck, context: PresentationContext, at: number): PresentationResult => {
    const verdict = judge(check, at);
    const authenticFqdn = check.authentic ? check.claims.fqdn : null;
    const network = networkKey(context.clientIp, verdict.machine?.networks ?? [], deps.config.anomaly);
    let alerts: RaisedAlert[] = [];
    let reason: MachineCookieRejection | undefined = verdict.ok ? undefined : verdict.reason;
    let suspended = false;
    if (verdict.ok) {
      alerts = anomaliesOf(verdict.machine, verdict.claims, context.clientIp, network, at);
      suspended = autoSuspend(verdict.machine, alerts, context, at);
      if (suspended) reason = 'auto_suspended';
    }
    deps.sightings.record({
      at,
      fqdn: authenticFqdn,
      claimedFqdn: check.authentic ? null : (check.claimedFqdn ?? null),
      jtiHash: check.authentic ? hashJti(check.claims.jti) : null,
      version: check.authentic ? check.claims.ver : null,
      clientIp: context.clientIp,
      network,
      userAgent: clean(context.userAgent, MAX_USER_AGENT),
      appId: context.appId ?? null,
      outcome: reason === undefined ? 'accepted' : 'rejected',
      reason: reason ?? null,
    });
    for (const alert of alerts) deps.alerts.raise(alert, at, suspended);
    if (verdict.ok && reason === undefined) return { accepted: true, machine: verdict.machine, claims: verdict.claims, alerts };
    return { accepted: false, reason: reason ?? 'malformed', fqdn: authenticFqdn ?? undefined, alerts };
  });

  function log(result: PresentationResult, check: MachineCookieCheck, context: PresentationContext, logger: FastifyBaseLogger): void {
    const where = { clientIp: context.clientIp, appId: context.appId };
    for (const alert of result.alerts) {
      logger.warn({ event: 'machine.alert', fqdn: alert.fqdn, rule: alert.rule, detail: alert.detail, ...where }, 'machine.alert');
    }
    if (result.accepted) {
      logger.info({ event: 'machine.accepted', fqdn: result.machine.fqdn, version: result.claims.ver, ...where }, 'machine.accepted');
      return;
    }
    const claimed = check.authentic ? undefined : clean(check.claimedFqdn, 253);
    logger.warn({ event: 'machine.rejected', reason: result.reason, fqdn: result.fqdn, claimedFqdn: claimed, ...where }, 'machine.rejected');
  }

  return (check, context, logger) => {
    const result = presentTransaction.immediate(check, context, deps.nowSeconds());
    log(result, check, context, logger);
    return result;
  };
}
