import type { Subject } from '../login/login-request.ts';
import type { ParticipantProtocol } from './participants-repository.ts';
import type { WebisoServices } from '../services.ts';
import { nowSeconds } from '../services.ts';

/**
 * The session index's write path. An SSO redirect for an app already recorded against a session
 * writes nothing (a per-process memo): sids never come back after their session ends, so a memo
 * entry can be stale only for a session that no longer exists. Another host keeps its own memo;
 * a repeat it writes is absorbed by the unique index (ON CONFLICT DO NOTHING).
 */
const memos = new WeakMap<WebisoServices, Set<string>>();
const MEMO_LIMIT = 50_000;

function memoOf(services: WebisoServices): Set<string> {
  let memo = memos.get(services);
  if (!memo) memos.set(services, (memo = new Set()));
  return memo;
}

export function subjectName(subject: Subject): string {
  return subject.kind === 'user' ? subject.username : `machine:${subject.fqdn}`;
}

export async function recordParticipant(services: WebisoServices, input: { sid: string; appId: string; protocol: ParticipantProtocol; subject: Subject; casService?: string; casTicket?: string }): Promise<void> {
  const recorded = memoOf(services);
  const key = `${input.sid}|${input.appId}|${input.protocol}`;
  if (input.casTicket === undefined && recorded.has(key)) return;
  await services.participants.record(
    { sid: input.sid, appId: input.appId, protocol: input.protocol, subject: subjectName(input.subject), kind: input.subject.kind, casService: input.casService, casTicket: input.casTicket },
    nowSeconds(services),
  );
  if (input.casTicket !== undefined) return;
  if (recorded.size >= MEMO_LIMIT) recorded.clear();
  recorded.add(key);
}
