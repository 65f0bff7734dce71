import type { Db } from '../db/database.ts';

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

interface ParticipantRow {
  sid: string;
  app_id: string;
  protocol: ParticipantProtocol;
  subject: string;
  kind: 'user' | 'machine';
  cas_service: string | null;
  cas_ticket: string | null;
}

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

/** The session index: which apps got something from which session. */
export function createParticipantsRepository(db: Db) {
  const insert = db.prepare(
    'INSERT OR IGNORE INTO session_participants (sid, app_id, protocol, subject, kind, cas_service, cas_ticket, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const take = db.prepare<[string], ParticipantRow>('DELETE FROM session_participants WHERE sid = ? RETURNING sid, app_id, protocol, subject, kind, cas_service, cas_ticket');
  const sidsOfSubject = db.prepare<[string], { sid: string }>('SELECT DISTINCT sid FROM session_participants WHERE subject = ?');
  return {
    record(participant: Participant, nowSeconds: number): void {
      const { sid, appId, protocol, subject, kind } = participant;
      insert.run(sid, appId, protocol, subject, kind, participant.casService ?? null, participant.casTicket ?? null, nowSeconds);
    },
    /** Removes and returns a session's participants (inside the transaction that ends the session). */
    take(sid: string): Participant[] {
      return take.all(sid).map(toParticipant);
    },
    /** The sessions a subject took part in without an SSO row of their own (a kiosk machine's). */
    sidsOf(subject: string): string[] {
      return sidsOfSubject.all(subject).map((row) => row.sid);
    },
  };
}
