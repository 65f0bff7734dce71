import type { RawParams } from '../login/granting-request.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';
import { CasInvalidRequestError, CasInvalidServiceError, CasInvalidTicketError, CasInvalidTicketSpecError } from './errors.ts';
import { releasedIdentity, type ReleasedIdentity } from './released-identity.ts';
import { hashTicket, MAX_TICKET_LENGTH, TICKET_SHAPE } from './service-ticket.ts';
import type { StoredTicket } from './ticket-repository.ts';
import type { ValidationFormat } from './validation-response.ts';

/** A repeated parameter is refused (which copy would count?); an absent one is undefined. */
function once(params: RawParams, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new CasInvalidRequestError(`The parameter "${name}" must appear once.`);
  return value;
}

/** CAS 3 answers JSON when asked with format=JSON; CAS 1 and 2 have one format each. */
export function validationFormat(params: RawParams, endpointFormat: ValidationFormat, formatParameter: boolean): ValidationFormat {
  if (!formatParameter) return endpointFormat;
  const value = params.format;
  return typeof value === 'string' && value.toUpperCase() === 'JSON' ? 'json' : 'xml';
}

function checkFormatParameter(params: RawParams): void {
  const value = once(params, 'format');
  if (value !== undefined && !['XML', 'JSON'].includes(value.toUpperCase())) throw new CasInvalidRequestError('The parameter "format" must be XML or JSON.');
}

export interface ValidatedTicket {
  readonly ticket: StoredTicket;
  /** the ticket as the client presented it (CAS single logout's SessionIndex) */
  readonly ticketString: string;
  readonly identity: ReleasedIdentity;
}

/** Takes the ticket out of the store before anything else is checked: one attempt, whatever its outcome. */
async function burn(services: WebisoServices, ticket: string | undefined): Promise<StoredTicket | undefined> {
  if (ticket === undefined || ticket.length > MAX_TICKET_LENGTH || !TICKET_SHAPE.test(ticket)) return undefined;
  return services.casTickets.consume(hashTicket(ticket));
}

/**
 * Validates a service ticket: single use (burned by this attempt even when it fails), unexpired,
 * for exactly the service string it was issued for, and — with renew — issued right after a
 * password (CAS 3.0 §2.5.1), never from the SSO session or a machine cookie.
 */
export async function validateTicket(services: WebisoServices, params: RawParams, formatParameter: boolean): Promise<ValidatedTicket> {
  const ticketParam = params.ticket;
  const stored = await burn(services, typeof ticketParam === 'string' ? ticketParam : undefined);
  const ticket = once(params, 'ticket');
  const service = once(params, 'service');
  const renew = once(params, 'renew');
  if (formatParameter) checkFormatParameter(params);
  if (ticket === undefined || ticket === '' || service === undefined || service === '') throw new CasInvalidRequestError('Both "ticket" and "service" are required.');
  if (ticket.length > MAX_TICKET_LENGTH) throw new CasInvalidRequestError(`A ticket is at most ${MAX_TICKET_LENGTH} characters.`);
  if (!stored) throw new CasInvalidTicketError('The ticket is not recognized: unknown, already used, or not a service ticket.');
  if (stored.expiresAt < nowSeconds(services)) throw new CasInvalidTicketError('The ticket has expired.');
  if (stored.service !== service) throw new CasInvalidServiceError('The ticket was issued for another service.');
  if (renew !== undefined && renew !== 'false' && !stored.fromNewLogin) {
    throw new CasInvalidTicketSpecError('renew was asked for, but the ticket was not issued from a password entered for this login.');
  }
  const identity = releasedIdentity({ subject: stored.subject, flavor: stored.flavor, fromNewLogin: stored.fromNewLogin, machineUserPattern: services.config.cas.machineUserPattern });
  return { ticket: stored, identity, ticketString: ticket };
}
