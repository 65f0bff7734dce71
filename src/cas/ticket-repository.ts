import type { Insertable, Selectable } from 'kysely';
import { prepareQuery, type Param } from '../store/prepared-query.ts';
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

// one of each per ticket round trip: compiled once (src/store/prepared-query.ts)
const insertTicket = prepareQuery((db, param: Param<Required<Insertable<Tables['cas_tickets']>>>) =>
  db.insertInto('cas_tickets').values({
    id_hash: param('id_hash'),
    app_id: param('app_id'),
    service: param('service'),
    subject: param('subject'),
    flavor: param('flavor'),
    from_new_login: param('from_new_login'),
    sid: param('sid'),
    created_at: param('created_at'),
    expires_at: param('expires_at'),
  }),
);
// DELETE … RETURNING: the row comes back to exactly one statement, whatever the engine
const consumeTicket = prepareQuery((db, param: Param<{ idHash: string }>) =>
  db.deleteFrom('cas_tickets').where('id_hash', '=', param('idHash')).returning(['app_id', 'service', 'subject', 'flavor', 'from_new_login', 'sid', 'created_at', 'expires_at']),
);

export function createTicketRepository(db: Queryable): TicketRepository {
  return {
    async save(idHash, ticket) {
      await insertTicket(db, {
        id_hash: idHash,
        app_id: ticket.appId,
        service: ticket.service,
        subject: JSON.stringify(ticket.subject),
        flavor: ticket.flavor,
        from_new_login: ticket.fromNewLogin ? 1 : 0,
        sid: ticket.sid,
        created_at: ticket.createdAt,
        expires_at: ticket.expiresAt,
      });
    },
    async consume(idHash) {
      const [row] = (await consumeTicket(db, { idHash })).rows;
      return row ? toTicket(row) : undefined;
    },
    async purgeExpired(nowSeconds) {
      const result = await db.deleteFrom('cas_tickets').where('expires_at', '<', nowSeconds).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
