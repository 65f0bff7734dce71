/**
 * One class per protocol error, each with a stable `code` that tests, logs and API clients key on.
 * `description` is safe to show to the person at the browser; it never carries secrets.
 */
export abstract class WebisoError extends Error {
  abstract readonly code: string;
  abstract readonly statusCode: number;
  readonly description: string;
  constructor(description: string) {
    super(description);
    this.description = description;
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends WebisoError {
  readonly code = 'invalid_request';
  readonly statusCode = 400;
}

export class UnknownAppError extends WebisoError {
  readonly code = 'unknown_app';
  readonly statusCode = 400;
}

export class ReturnUrlNotRegisteredError extends WebisoError {
  readonly code = 'return_url_not_registered';
  readonly statusCode = 400;
}

export class FlavorNotAllowedError extends WebisoError {
  readonly code = 'flavor_not_allowed';
  readonly statusCode = 400;
}

export class PasswordInUrlError extends WebisoError {
  readonly code = 'password_in_url';
  readonly statusCode = 400;
}

export class LoginContextInvalidError extends WebisoError {
  readonly code = 'login_context_invalid';
  readonly statusCode = 400;
}

export class CsrfError extends WebisoError {
  readonly code = 'csrf_invalid';
  readonly statusCode = 403;
}

export class ForbiddenError extends WebisoError {
  readonly code = 'forbidden';
  readonly statusCode = 403;
}

export class NotFoundError extends WebisoError {
  readonly code = 'not_found';
  readonly statusCode = 404;
}

export class MethodNotAllowedError extends WebisoError {
  readonly code = 'method_not_allowed';
  readonly statusCode = 405;
}

export class ServiceUnavailableError extends WebisoError {
  readonly code = 'temporarily_unavailable';
  readonly statusCode = 503;
}
