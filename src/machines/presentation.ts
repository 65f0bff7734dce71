import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/store.ts';
import { createAlertsRepository, type AlertsRepository, type RaisedAlert } from './alerts-repository.ts';
import { detectAnomalies } from './anomaly.ts';
import type { MachinesConfig } from './config-schema.ts';
import { hashJti, type MachineClaims, type MachineCookieCheck, type MachineCookieRejection } from './machine-cookie.ts';
import { createMachinesRepository, type Machine, type MachinesRepository } from './machines-repository.ts';
import { networkKey } from './networks.ts';
import { createSightingsRepository, type SightingsRepository } from './sightings-repository.ts';

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
  readonly store: Store;
  readonly config: MachinesConfig;
  /** the effective invalid-before cutoff (config or CLI), unix seconds, read through the presentation's transaction */
  readonly invalidBefore: (machines: MachinesRepository) => Promise<number | undefined>;
  readonly nowSeconds: () => number;
}

type Verdict =
  | { readonly ok: true; readonly machine: Machine; readonly claims: MachineClaims }
  | { readonly ok: false; readonly reason: MachineCookieRejection; readonly machine?: Machine | undefined };

// eslint-disable-next-line no-control-regex
const clean = (value: string | undefined, max: number) => (value === undefined ? null : value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD').slice(0, max));

export type Presenter = (check: MachineCookieCheck, context: PresentationContext, logger: FastifyBaseLogger) => Promise<PresentationResult>;

/** The repositories over one presentation's transaction. */
interface Tx {
  readonly machines: MachinesRepository;
  readonly sightings: SightingsRepository;
  readonly alerts: AlertsRepository;
}

/**
 * Judges a presented machine cookie against the clock, the invalid-before cutoff and the version
 * table, records the sighting, its address summary and hourly rollup, runs the anomaly rules and
 * raises alerts — all in one transaction, so the verdict and the audit trail cannot disagree and a
 * revoke committed before it is always seen (no caching: revocation works on the very next request,
 * on any host). The signature was checked before (checkMachineCookie): no crypto in the transaction.
 * An authentic cookie's machine row is locked first (findForUpdate), so on PostgreSQL two hosts'
 * presentations of one machine take turns and each sees the other's sighting and alert.
 */
export function createPresenter(deps: PresenterDeps): Presenter {
  async function judge(tx: Tx, check: MachineCookieCheck, at: number): Promise<Verdict> {
    if (!check.authentic) return { ok: false, reason: check.reason };
    const { claims } = check;
    if (claims.exp <= at) return { ok: false, reason: 'expired' };
    if (claims.iat > at + ISSUED_AT_SKEW_SECONDS) return { ok: false, reason: 'issued_in_future' };
    const cutoff = await deps.invalidBefore(tx.machines);
    if (cutoff !== undefined && claims.iat < cutoff) return { ok: false, reason: 'invalid_before' };
    const machine = await tx.machines.findForUpdate(claims.fqdn);
    if (!machine) return { ok: false, reason: 'unknown_machine' };
    if (claims.ver < machine.version) return { ok: false, reason: 'revoked_version', machine };
    if (claims.ver > machine.version) return { ok: false, reason: 'future_version', machine };
    if (machine.status !== 'active') return { ok: false, reason: 'suspended', machine };
    return { ok: true, machine, claims };
  }

  /**
   * The clone rule needs this cookie's recent networks only when its last accepted sighting was
   * from another network: the common case (same network again) is answered by that one row.
   */
  async function anomaliesOf(tx: Tx, machine: Machine, claims: MachineClaims, clientIp: string, network: string, at: number): Promise<RaisedAlert[]> {
    const jtiHash = hashJti(claims.jti);
    const since = at - deps.config.anomaly.cloneWindowSeconds;
    const { ofMachine, ofCookie } = await tx.sightings.latestAccepted(machine.fqdn, jtiHash);
    let sameCookie: ReadonlyArray<{ network: string; at: number }> = [];
    if (ofCookie !== undefined && ofCookie.at >= since) sameCookie = ofCookie.network === network ? [ofCookie] : await tx.sightings.recentNetworksForJti(jtiHash, since);
    return detectAnomalies({
      fqdn: machine.fqdn,
      at,
      clientIp,
      network,
      registeredNetworks: machine.networks,
      previous: ofMachine,
      sameCookie,
      teleportWindowSeconds: deps.config.anomaly.teleportWindowSeconds,
    });
  }

  async function autoSuspend(tx: Tx, machine: Machine, alerts: readonly RaisedAlert[], context: PresentationContext, at: number): Promise<boolean> {
    if (alerts.length === 0 || !deps.config.anomaly.autoSuspend) return false;
    if (!(await tx.machines.setStatus(machine.fqdn, 'active', 'suspended'))) return false;
    await tx.machines.addEvent({
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

  async function presentIn(tx: Tx, check: MachineCookieCheck, context: PresentationContext, at: number): Promise<PresentationResult> {
    const verdict = await judge(tx, check, at);
    const authenticFqdn = check.authentic ? check.claims.fqdn : null;
    const network = networkKey(context.clientIp, verdict.machine?.networks ?? [], deps.config.anomaly);
    let alerts: RaisedAlert[] = [];
    let reason: MachineCookieRejection | undefined = verdict.ok ? undefined : verdict.reason;
    let suspended = false;
    if (verdict.ok) {
      alerts = await anomaliesOf(tx, verdict.machine, verdict.claims, context.clientIp, network, at);
      suspended = await autoSuspend(tx, verdict.machine, alerts, context, at);
      if (suspended) reason = 'auto_suspended';
    }
    await tx.sightings.record({
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
    for (const alert of alerts) await tx.alerts.raise(alert, at, suspended);
    if (verdict.ok && reason === undefined) return { accepted: true, machine: verdict.machine, claims: verdict.claims, alerts };
    return { accepted: false, reason: reason ?? 'malformed', fqdn: authenticFqdn ?? undefined, alerts };
  }

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

  const { store } = deps;
  return async (check, context, logger) => {
    const at = deps.nowSeconds();
    const result = await store.transaction((trx) =>
      presentIn({ machines: createMachinesRepository(trx, store.kind), sightings: createSightingsRepository(trx), alerts: createAlertsRepository(trx) }, check, context, at),
    );
    log(result, check, context, logger);
    return result;
  };
}
