import type { Db } from '../db/database.ts';
import type { Subject } from '../login/login-request.ts';

/** A stored service ticket, as validation sees it after consuming it. */
export interface StoredTicket {
  readonly appId: string;
  readonly service: string;
  readonly subject: Subject;
  readonly flavor: string;
  readonly fromNewLogin: boolean;
  /** the session it was issued from (single logout) */
  readonly sid: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

interface TicketRow {
  app_id: string;
  service: string;
  subject: string;
  flavor: string;
  from_new_login: number;
  sid: string;
  created_at: number;
  expires_at: number;
}

export interface TicketRepository {
  save(idHash: string, ticket: StoredTicket): void;
  /** Deletes and returns the ticket in one statement: of any number of concurrent validations, one gets it. */
  consume(idHash: string): StoredTicket | undefined;
  purgeExpired(nowSeconds: number): number;
}

export function createTicketRepository(db: Db): TicketRepository {
  const insert = db.prepare(
    'INSERT INTO cas_tickets (id_hash, app_id, service, subject, flavor, from_new_login, sid, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const take = db.prepare<[string], TicketRow>(
    'DELETE FROM cas_tickets WHERE id_hash = ? RETURNING app_id, service, subject, flavor, from_new_login, sid, created_at, expires_at',
  );
  const purge = db.prepare('DELETE FROM cas_tickets WHERE expires_at < ?');
  return {
    save(idHash, ticket) {
      insert.run(idHash, ticket.appId, ticket.service, JSON.stringify(ticket.subject), ticket.flavor, ticket.fromNewLogin ? 1 : 0, ticket.sid, ticket.createdAt, ticket.expiresAt);
    },
    consume(idHash) {
      const row = take.get(idHash);
      if (!row) return undefined;
      return {
        appId: row.app_id,
        service: row.service,
        subject: JSON.parse(row.subject) as Subject,
        flavor: row.flavor,
        fromNewLogin: row.from_new_login === 1,
        sid: row.sid,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      };
    },
    purgeExpired(nowSeconds) {
      return purge.run(nowSeconds).changes;
    },
  };
}
