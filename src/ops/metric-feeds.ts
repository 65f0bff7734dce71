import type { AuthEvent } from '../audit/auth-events.ts';
import { FLAVOR_NAMES } from '../config/schema.ts';
import type { Presenter } from '../machines/presentation.ts';
import type { PasswordVerifier } from '../verifiers/verifier.ts';
import type { WebisoMetrics } from './metrics.ts';

/**
 * What feeds the metrics: the audit log (every event passes through AuditLog.record), the machine
 * presenter and the password verifier. Nothing else in the code base touches a counter.
 */

const FLAVORS: ReadonlySet<string> = new Set(FLAVOR_NAMES);
const LOGIN_OUTCOMES: Partial<Record<AuthEvent['event'], string>> = {
  'login.success': 'success',
  'login.sso': 'sso',
  'login.failure': 'failure',
  'login.throttled': 'throttled',
  'login.unavailable': 'unavailable',
  'login.passive_failed': 'passive_failed',
};
const DELIVERY = /^channel=(\w+) attempt=\d+ (delivered|retry|gave_up)\b/;

/** Label values from requests are folded onto bounded sets: a hostile client cannot mint new series. */
function flavorLabel(flavor: string | undefined): string {
  if (flavor === undefined) return 'none';
  return FLAVORS.has(flavor) ? flavor : 'other';
}

function appLabel(metrics: WebisoMetrics, appId: string | undefined): string {
  if (appId === undefined) return 'none';
  return metrics.appIds.has(appId) ? appId : 'other';
}

export function countAuthEvent(metrics: WebisoMetrics, event: AuthEvent): void {
  metrics.auditEvents.inc({ event: event.event });
  const outcome = LOGIN_OUTCOMES[event.event];
  if (outcome !== undefined) metrics.logins.inc({ outcome, flavor: flavorLabel(event.flavor) });
  switch (event.event) {
    case 'login.throttled':
      metrics.throttled.inc();
      break;
    case 'grant.issued':
      metrics.grants.inc({ app: appLabel(metrics, event.appId), flavor: flavorLabel(event.flavor) });
      break;
    case 'cas.ticket.issued':
      metrics.casTickets.inc({ app: appLabel(metrics, event.appId) });
      break;
    case 'cas.ticket.validated':
    case 'cas.ticket.refused':
      metrics.casValidations.inc({ outcome: event.event === 'cas.ticket.validated' ? 'validated' : 'refused' });
      break;
    case 'logout.delivery': {
      const match = DELIVERY.exec(event.detail ?? '');
      metrics.logoutDeliveries.inc({ channel: match?.[1] ?? 'unknown', result: match?.[2] ?? 'unknown' });
      break;
    }
    default:
      break;
  }
}

/** Counts every presented machine cookie (the sighting row's outcome and reason) and the alerts it raised. */
export function countingPresenter(metrics: WebisoMetrics, present: Presenter): Presenter {
  return async (check, context, logger) => {
    const result = await present(check, context, logger);
    metrics.machineSightings.inc(result.accepted ? { outcome: 'accepted', reason: 'none' } : { outcome: 'rejected', reason: result.reason });
    for (const alert of result.alerts) metrics.machineAlerts.inc({ rule: alert.rule });
    return result;
  };
}

/** Times every back-end call; a verifier that throws (a bug, not an outcome) is timed as `error`. */
export function timedVerifier(metrics: WebisoMetrics, verifier: PasswordVerifier): PasswordVerifier {
  return {
    kind: verifier.kind,
    ...(verifier.close ? { close: verifier.close.bind(verifier) } : {}),
    async verify(username, password) {
      const stop = metrics.verifierDuration.startTimer({ verifier: verifier.kind });
      try {
        const outcome = await verifier.verify(username, password);
        stop({ outcome: outcome.ok ? 'ok' : outcome.reason });
        return outcome;
      } catch (error) {
        stop({ outcome: 'error' });
        throw error;
      }
    },
  };
}
