import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * webiso's Prometheus metrics. Each app has its own registry (tests build many apps in one
 * process); Node's process metrics (CPU, memory, event-loop delay, GC) are collected once per
 * process into a shared registry and appended at scrape time. Names and labels are listed in
 * docs/operations.md: dashboards key on them, so they never change meaning.
 */
export interface WebisoMetrics {
  readonly auditEvents: Counter<'event'>;
  readonly logins: Counter<'outcome' | 'flavor'>;
  readonly throttled: Counter;
  readonly grants: Counter<'app' | 'flavor'>;
  readonly casTickets: Counter<'app'>;
  readonly casValidations: Counter<'outcome'>;
  readonly machineSightings: Counter<'outcome' | 'reason'>;
  readonly machineAlerts: Counter<'rule'>;
  readonly logoutDeliveries: Counter<'channel' | 'result'>;
  readonly verifierDuration: Histogram<'verifier' | 'outcome'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** label values that come from requests are folded onto these bounded sets */
  readonly appIds: ReadonlySet<string>;
  /** this app's registry and the process's: what a scrape of this process shows */
  readonly registries: () => readonly Registry[];
  /** the text `/metrics` answers: this process's figures, or with `--workers N` the whole cluster's (scrapeWith) */
  render(): Promise<string>;
  /** `webiso serve --workers N`: scrapes go to the primary, which sums every worker's figures (src/ops/cluster-metrics.ts) */
  scrapeWith(scrape: () => Promise<string>): void;
  readonly contentType: string;
}

let processRegistry: Registry | undefined;

/** Default metrics once per process: each collectDefaultMetrics call starts its own GC observer and delay monitor. */
function sharedProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}

/** Logins with Kerberos or LDAP take tens of milliseconds; a stalled back-end takes its timeout. */
const VERIFIER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(appIds: readonly string[]): WebisoMetrics {
  sharedProcessRegistry(); // start the event-loop delay monitor now, not at the first scrape
  const registers = [new Registry()];
  const [registry] = registers as [Registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
  let scrape = async () => (await registry.metrics()) + (await sharedProcessRegistry().metrics());
  return {
    auditEvents: counter('webiso_audit_events_total', 'Audit events recorded, by event name', ['event']),
    logins: counter('webiso_logins_total', 'Login attempts by outcome (success, sso, failure, throttled, unavailable, passive_failed) and flavor', ['outcome', 'flavor']),
    throttled: counter('webiso_login_throttled_total', 'Password attempts refused by the failure throttle', []),
    grants: counter('webiso_grants_issued_total', 'Granting assertions signed, by app and flavor', ['app', 'flavor']),
    casTickets: counter('webiso_cas_tickets_issued_total', 'CAS service tickets issued, by app', ['app']),
    casValidations: counter('webiso_cas_validations_total', 'CAS ticket validations by outcome (validated, refused)', ['outcome']),
    machineSightings: counter('webiso_machine_sightings_total', 'Machine cookies presented, by outcome and rejection reason', ['outcome', 'reason']),
    machineAlerts: counter('webiso_machine_alerts_total', 'Machine anomaly alerts raised, by rule', ['rule']),
    logoutDeliveries: counter('webiso_logout_deliveries_total', 'Single-logout delivery attempts, by channel and result (delivered, retry, gave_up)', ['channel', 'result']),
    verifierDuration: new Histogram({
      name: 'webiso_verifier_duration_seconds',
      help: 'Password back-end (verifier) latency, by verifier and outcome',
      labelNames: ['verifier', 'outcome'],
      buckets: VERIFIER_BUCKETS,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'webiso_http_request_duration_seconds',
      help: 'HTTP response time, by method, route pattern and status class',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    appIds: new Set(appIds),
    contentType: registry.contentType,
    registries: () => [registry, sharedProcessRegistry()],
    render: () => scrape(),
    scrapeWith(clusterScrape) {
      scrape = clusterScrape;
    },
  };
}
