import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/**
 * `/metrics` under `webiso serve --workers N`: whichever worker a scrape reaches asks the primary,
 * which collects every ready worker's figures and sums them with prom-client's aggregators
 * (AggregatorRegistry.aggregate: counters and histograms summed, each default metric by its own
 * rule), so one scrape sees the whole server instead of one worker's share. A worker that does
 * not answer in time (dying, stuck) is left out of that scrape; a replaced worker's counters start
 * again from zero, which Prometheus' rate() reads as the counter reset it is.
 */

const SCRAPE = 'webiso.metrics_scrape';
const SCRAPED = 'webiso.metrics_scraped';
const COLLECT = 'webiso.metrics_collect';
const COLLECTED = 'webiso.metrics_collected';

/** How long the primary waits for each worker's figures, and a worker for the primary's answer. */
const COLLECT_TIMEOUT_MS = 2000;
const SCRAPE_TIMEOUT_MS = COLLECT_TIMEOUT_MS + 1000;

type Metrics = Array<MetricObjectWithValues<MetricValue<string>>>;

interface Message {
  readonly type: string;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
  readonly metrics?: Metrics;
}

const isMessage = (message: unknown, type: string): message is Message =>
  typeof message === 'object' && message !== null && (message as Message).type === type && typeof (message as Message).id === 'number';

/** Primary: answers scrapes from `workers()` (the ready ones) with their summed figures. */
export function createMetricsAggregator(workers: () => Iterable<Worker>) {
  let nextId = 0;
  const waiting = new Map<number, (metrics: Metrics | undefined) => void>();

  function collectFrom(worker: Worker): Promise<Metrics | undefined> {
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), COLLECT_TIMEOUT_MS);
      const settle = (metrics: Metrics | undefined) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(metrics);
      };
      waiting.set(id, settle);
      worker.send({ type: COLLECT, id }, (error: Error | null) => error && settle(undefined));
    });
  }

  async function scrape(): Promise<string> {
    const collected = await Promise.all([...workers()].map(collectFrom));
    return AggregatorRegistry.aggregate(collected.filter((metrics): metrics is Metrics => metrics !== undefined)).metrics();
  }

  /** Wires one worker: its scrapes are answered, its collected figures delivered. */
  return function attach(worker: Worker): void {
    worker.on('message', (message: unknown) => {
      if (isMessage(message, COLLECTED)) waiting.get(message.id)?.(message.metrics ?? []);
      if (!isMessage(message, SCRAPE)) return;
      const { id } = message;
      scrape().then(
        (text) => worker.isConnected() && worker.send({ type: SCRAPED, id, text }),
        (error: unknown) => worker.isConnected() && worker.send({ type: SCRAPED, id, error: (error as Error).message }),
      );
    });
  };
}

/**
 * Worker: hands this process's registries to the primary when it collects, and returns the scrape
 * `/metrics` uses instead of its own registries.
 */
export function joinClusterMetrics(registries: () => readonly Registry[]): () => Promise<string> {
  let nextId = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on('message', (message: unknown) => {
    if (isMessage(message, COLLECT)) {
      const { id } = message;
      void Promise.all(registries().map((registry) => registry.getMetricsAsJSON())).then(
        (lists) => process.send?.({ type: COLLECTED, id, metrics: lists.flat() }),
        () => process.send?.({ type: COLLECTED, id, metrics: [] }),
      );
    }
    if (isMessage(message, SCRAPED)) {
      const request = pending.get(message.id);
      pending.delete(message.id);
      if (message.text !== undefined) request?.resolve(message.text);
      else request?.reject(new Error(`the primary could not aggregate the metrics: ${message.error ?? 'no answer'}`));
    }
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary did not answer the metrics scrape in time'));
      }, SCRAPE_TIMEOUT_MS);
      pending.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      process.send?.({ type: SCRAPE, id });
    });
}
