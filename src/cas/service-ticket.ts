import { createHash } from 'node:crypto';
import { randomToken } from '../crypto/random-token.ts';

/**
 * Service tickets: `ST-` and 192 random bits in hex. CAS 3.0 §3.1.1 allows only A-Z a-z 0-9 and
 * `-` after the prefix, and mod_auth_cas 1.2 treats any other character (base64url's `_`) as no
 * ticket at all, so the browser loops.
 */
export const TICKET_PREFIX = 'ST-';
export const MAX_TICKET_LENGTH = 256;
export const TICKET_SHAPE = /^ST-[A-Za-z0-9-]{1,253}$/;

export function newServiceTicket(): string {
  return `${TICKET_PREFIX}${randomToken(24, 'hex')}`;
}

/** Only this hash is stored: a copy of the database validates no ticket. */
export function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}
