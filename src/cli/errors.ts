import { WebisoError } from '../errors.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';

/**
 * A user-facing CLI error: printed as one `webiso: …` line without a stack trace, exit status 1.
 * Messages follow one pattern per condition, whichever command meets it:
 * `no such user "x"`, `machine "x" already exists`, `invalid --limit "0": use …`.
 */
export class CliError extends Error {}

/**
 * The CLI's wording of an error. Errors shared with the web pages are written as sentences for a
 * browser ("The location is at most 200 characters."); on the command line they read like the
 * CLI's own: lower-case first word, no final full stop.
 */
export function cliMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (isStoreUnavailable(error)) {
    const { code } = error as { code?: unknown };
    return `the database did not answer (${typeof code === 'string' ? code : error.message}): try again once it is back`;
  }
  if (!(error instanceof WebisoError)) return error.message;
  const text = error.description.replace(/\.$/, '');
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}
