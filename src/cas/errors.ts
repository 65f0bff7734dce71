import { WebisoError } from '../errors.ts';

/**
 * CAS validation failures, one class per CAS 3.0 error code (§2.5.3). They are answered in the
 * validation endpoint's own format (XML, JSON or CAS 1 text), never as an HTML page.
 */
export abstract class CasValidationError extends Error {
  abstract readonly casCode: 'INVALID_REQUEST' | 'INVALID_TICKET_SPEC' | 'INVALID_TICKET' | 'INVALID_SERVICE' | 'INTERNAL_ERROR';
  /** HTTP status: 200 as CAS servers answer a failed validation, 400 for a malformed request */
  readonly statusCode: number = 200;
  readonly description: string;
  constructor(description: string) {
    super(description);
    this.description = description;
    this.name = new.target.name;
  }
}

export class CasInvalidRequestError extends CasValidationError {
  readonly casCode = 'INVALID_REQUEST';
  override readonly statusCode = 400;
}

export class CasInvalidTicketSpecError extends CasValidationError {
  readonly casCode = 'INVALID_TICKET_SPEC';
}

export class CasInvalidTicketError extends CasValidationError {
  readonly casCode = 'INVALID_TICKET';
}

export class CasInvalidServiceError extends CasValidationError {
  readonly casCode = 'INVALID_SERVICE';
}

export class CasInternalError extends CasValidationError {
  readonly casCode = 'INTERNAL_ERROR';
  override readonly statusCode = 503;
}

/** /cas/login with a service no app registered: a readable page, and no redirect anywhere. */
export class CasServiceNotRegisteredError extends WebisoError {
  readonly code = 'cas_service_not_registered';
  readonly statusCode = 400;
}

/** A CAS identity webiso will not release (a username that could be mistaken for a machine). */
export class CasIdentityNotReleasableError extends WebisoError {
  readonly code = 'cas_identity_not_releasable';
  readonly statusCode = 403;
}
