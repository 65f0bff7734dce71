import type { Selectable } from 'kysely';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

export type ParticipantProtocol = 'native' | 'cas' | 'oidc';

/** One app (or one validated CAS ticket) that received an identity from a session. */
export interface Participant {
  readonly sid: string;
  readonly appId: string;
  readonly protocol: ParticipantProtocol;
  /** the username, or machine:<fqdn> */
  readonly subject: string;
  readonly kind: 'user' | 'machine';
  readonly casService?: string | null | undefined;
  readonly casTicket?: string | null | undefined;
}

type ParticipantRow = Pick<Selectable<Tables['session_participants']>, 'sid' | 'app_id' | 'protocol' | 'subject' | 'kind' | 'cas_service' | 'cas_ticket'>;

const toParticipant = (row: ParticipantRow): Participant => ({
  sid: row.sid,
  appId: row.app_id,
  protocol: row.protocol,
  subject: row.subject,
  kind: row.kind,
  casService: row.cas_service,
  casTicket: row.cas_ticket,
});

export type ParticipantsRepository = ReturnType<typeof createParticipantsRepository>;

/** The session index: which apps got something from which session. `db` is the store or a caller's transaction. */
export function createParticipantsRepository(db: Queryable) {
  return {
    /** Records once: the unique index (sid, app, protocol, ticket) turns a repeat into nothing, on any host. */
    async record(participant: Participant, nowSeconds: number): Promise<void> {
      await db
        .insertInto('session_participants')
        .values({
          sid: participant.sid,
          app_id: participant.appId,
          protocol: participant.protocol,
          subject: participant.subject,
          kind: participant.kind,
          cas_service: participant.casService ?? null,
          cas_ticket: participant.casTicket ?? null,
          at: nowSeconds,
        })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
    },
    /**
     * Removes and returns a session's participants (inside the transaction that ends the session).
     * DELETE … RETURNING: when two hosts end one session at once, each row goes to exactly one of them.
     */
    async take(sid: string): Promise<Participant[]> {
      const rows = await db.deleteFrom('session_participants').where('sid', '=', sid).returning(['id', 'sid', 'app_id', 'protocol', 'subject', 'kind', 'cas_service', 'cas_ticket']).execute();
      // RETURNING has no order of its own: the apps are listed in the order the session reached them
      return rows.sort((a, b) => a.id - b.id).map(toParticipant);
    },
    /** The sessions a subject took part in without an SSO row of their own (a kiosk machine's). */
    async sidsOf(subject: string): Promise<string[]> {
      const rows = await db.selectFrom('session_participants').select('sid').distinct().where('subject', '=', subject).execute();
      return rows.map((row) => row.sid);
    },
  };
}
