import type { Selectable } from 'kysely';
import type { Subject } from '../login/login-request.ts';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

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

type TicketRow = Pick<Selectable<Tables['cas_tickets']>, 'app_id' | 'service' | 'subject' | 'flavor' | 'from_new_login' | 'sid' | 'created_at' | 'expires_at'>;

export interface TicketRepository {
  save(idHash: string, ticket: StoredTicket): Promise<void>;
  /** Deletes and returns the ticket in one statement: of any number of concurrent validations, on any host, one gets it. */
  consume(idHash: string): Promise<StoredTicket | undefined>;
  purgeExpired(nowSeconds: number): Promise<number>;
}

function toTicket(row: TicketRow): StoredTicket {
  return {
    appId: row.app_id,
    service: row.service,
    subject: JSON.parse(row.subject) as Subject,
    flavor: row.flavor,
    fromNewLogin: row.from_new_login === 1,
    // every ticket since migration 005 names its session
    sid: row.sid ?? '',
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export function createTicketRepository(db: Queryable): TicketRepository {
  return {
    async save(idHash, ticket) {
      await db
        .insertInto('cas_tickets')
        .values({
          id_hash: idHash,
          app_id: ticket.appId,
          service: ticket.service,
          subject: JSON.stringify(ticket.subject),
          flavor: ticket.flavor,
          from_new_login: ticket.fromNewLogin ? 1 : 0,
          sid: ticket.sid,
          created_at: ticket.createdAt,
          expires_at: ticket.expiresAt,
        })
        .execute();
    },
    async consume(idHash) {
      // DELETE … RETURNING: the row comes back to exactly one statement, whatever the engine
      const row = await db
        .deleteFrom('cas_tickets')
        .where('id_hash', '=', idHash)
        .returning(['app_id', 'service', 'subject', 'flavor', 'from_new_login', 'sid', 'created_at', 'expires_at'])
        .executeTakeFirst();
      return row ? toTicket(row) : undefined;
    },
    async purgeExpired(nowSeconds) {
      const result = await db.deleteFrom('cas_tickets').where('expires_at', '<', nowSeconds).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
