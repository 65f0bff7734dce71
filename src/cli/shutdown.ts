/** The signals that stop `webiso serve`: SIGINT (Ctrl-C) and SIGTERM (service managers). */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** In-flight requests get this long to finish after a signal; then the process exits anyway (status 1). */
export const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * Calls `stop` on the first of `signals` only: its listeners are removed at once, so a second
 * signal has its default effect and ends the process there and then.
 */
export function onFirstSignal(signals: readonly NodeJS.Signals[], stop: (signal: NodeJS.Signals) => void): void {
  const onSignal = (signal: NodeJS.Signals) => {
    for (const other of signals) process.removeListener(other, onSignal);
    stop(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
}
