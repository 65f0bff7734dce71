import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebisoError } from '../errors.ts';
import { wantsHtml } from '../http/error-handler.ts';
import type { Translator } from '../i18n/translate.ts';
import type { RawParams } from '../login/granting-request.ts';
import { translateMessage } from './form-messages.ts';
import {
  EnrollmentNotFoundError,
  InvalidMachineInputError,
  MachineExistsError,
  MachineVersionConflictError,
  MintNotAllowedError,
} from '../machines/errors.ts';

/** The forms of the admin pages, by the name their template knows them under. */
export type AdminForm = 'add' | 'details' | 'mint' | 'enroll' | 'revoke' | 'suspend' | 'reactivate' | 'cancel-enrollment';

/** Why a form submission was refused, and where on the form to say so. */
export interface FormProblem {
  readonly form: AdminForm;
  /** the field the message belongs beside; undefined: the form as a whole */
  readonly field: string | undefined;
  readonly message: string;
  readonly code: string;
  readonly statusCode: number;
}

/** A refused submission: the problem and what was typed, so the form shows it again. */
export interface FormState {
  readonly problem: FormProblem;
  readonly values: Readonly<Record<string, string>>;
}

/** What a template asks of the last submission: the message for a field, the value to show again. */
export interface FormView {
  readonly problem: FormProblem | undefined;
  error(form: AdminForm, field?: string): string | undefined;
  value(form: AdminForm, field: string, fallback: string): string;
}

/** Errors an admin can fix by changing what was typed; others (CSRF, no such machine) stay error pages. */
const FIXABLE = [InvalidMachineInputError, MachineExistsError, MintNotAllowedError, MachineVersionConflictError, EnrollmentNotFoundError];

function fieldOf(error: WebisoError, form: AdminForm): string | undefined {
  if (error instanceof InvalidMachineInputError) return error.field;
  // a name that exists already, or that the mint policy does not cover, is a problem of the name typed
  if (form === 'add' && (error instanceof MachineExistsError || error instanceof MintNotAllowedError)) return 'fqdn';
  return undefined;
}

export function formProblemOf(error: unknown, form: AdminForm): FormProblem | undefined {
  if (!(error instanceof WebisoError) || !FIXABLE.some((type) => error instanceof type)) return undefined;
  return { form, field: fieldOf(error, form), message: error.description, code: error.code, statusCode: error.statusCode };
}

/** The typed values of a form body, text only (a repeated field keeps its first value). */
export function typedValues(body: RawParams, fields: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of fields) {
    const value = Array.isArray(body[field]) ? (body[field] as unknown[])[0] : body[field];
    if (typeof value === 'string') values[field] = value;
  }
  return values;
}

/** `tr`: the page's language; the message is shown in it (English: exactly as thrown). */
export function formView(state: FormState | undefined, tr: Translator): FormView {
  const problem = state?.problem;
  return {
    problem,
    error(form, field) {
      if (problem?.form !== form) return undefined;
      return problem.field === field ? translateMessage(problem.message, tr) : undefined;
    },
    value(form, field, fallback) {
      return problem?.form === form ? (state?.values[field] ?? fallback) : fallback;
    },
  };
}

/**
 * Runs a form action; when it fails in a way the admin can fix, a browser gets `render` with the
 * problem and the typed values (the page again, inside the console) instead of a bare error page.
 * API clients get the JSON error as before. The refusal is logged like every other.
 */
export async function withFormErrors(
  request: FastifyRequest,
  form: AdminForm,
  values: Readonly<Record<string, string>>,
  action: () => Promise<FastifyReply> | FastifyReply,
  render: (state: FormState) => Promise<FastifyReply> | FastifyReply,
): Promise<FastifyReply> {
  try {
    return await action();
  } catch (error) {
    const problem = wantsHtml(request) ? formProblemOf(error, form) : undefined;
    if (!problem) throw error;
    request.log.info({ event: 'request.rejected', code: problem.code, statusCode: problem.statusCode, form }, problem.message);
    return await render({ problem, values });
  }
}
