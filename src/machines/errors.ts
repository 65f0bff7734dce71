import { WebisoError } from '../errors.ts';

/** Protocol errors of the machine-cookie and admin features, one class each (see src/errors.ts). */

/** The form fields an admin types into; an error names the one it is about. */
export type MachineField = 'fqdn' | 'location' | 'networks' | 'entitlements' | 'days' | 'reason';

export class InvalidMachineInputError extends WebisoError {
  readonly code = 'invalid_machine_input';
  readonly statusCode = 400;
  constructor(
    description: string,
    /** the field the value came from, so a form can show the message beside it */
    readonly field?: MachineField,
  ) {
    super(description);
  }
}

export class MachineNotFoundError extends WebisoError {
  readonly code = 'machine_not_found';
  readonly statusCode = 404;
}

export class MachineExistsError extends WebisoError {
  readonly code = 'machine_exists';
  readonly statusCode = 409;
}

/** Another mint or revoke changed the version while this one was being prepared: try again. */
export class MachineVersionConflictError extends WebisoError {
  readonly code = 'machine_version_conflict';
  readonly statusCode = 409;
}

export class MintNotAllowedError extends WebisoError {
  readonly code = 'mint_not_allowed';
  readonly statusCode = 403;
}

export class AdminRequiredError extends WebisoError {
  readonly code = 'admin_required';
  readonly statusCode = 403;
}

/** An API client reached an admin page without a webiso session (browsers are sent to /admin/login). */
export class AdminLoginRequiredError extends WebisoError {
  readonly code = 'login_required';
  readonly statusCode = 401;
}

/** Minting needs a password typed within machines.reauthSeconds. */
export class ReauthRequiredError extends WebisoError {
  readonly code = 'reauth_required';
  readonly statusCode = 401;
}

/** Cancelling a machine's enrollment link when it has none pending. */
export class EnrollmentNotFoundError extends WebisoError {
  readonly code = 'enrollment_not_found';
  readonly statusCode = 404;
}

/** Unknown, expired, cancelled and already used enrollment codes get the same answer. */
export class EnrollmentInvalidError extends WebisoError {
  readonly code = 'enrollment_invalid';
  readonly statusCode = 410;
}
