import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { SyncSummary } from '../../../workflows/mailbox-sync';

/** What the worker logged about one message. */
export interface LoggedOutcome {
  /** Set for the sync's rejections (every rejected message has a UID, not every one a Message-ID). */
  uid?: number;
  /** Set for what the task workflow or the sync did with a decision: accepted or ignored. */
  messageId?: string;
  outcome: string;
  /** How long the sender authentication took, for a rejection. */
  checkMs?: number;
}

/** What became of one message of a round. */
export interface MessageOutcome {
  uid: number;
  messageId?: string;
  /** The sync's code, or for a signalled decision the task's verdict (completed, duplicate ...). */
  outcome: string;
  checkMs?: number;
}

/**
 * Outcomes the worker logged since `offset` of its log file: rejections by the sync, decisions
 * accepted or ignored by the task workflow or the sync.
 */
export function outcomesLoggedSince(logFile: string, offset: number): LoggedOutcome[] {
  const size = statSync(logFile).size;
  const buffer = Buffer.alloc(size - offset);
  const fd = openSync(logFile, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, offset);
  } finally {
    closeSync(fd);
  }
  const found: LoggedOutcome[] = [];
  for (const line of buffer.toString('utf8').split('\n')) {
    if (!line.includes('"outcome"')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    const outcome = entry.outcome;
    if (typeof outcome !== 'string') continue;
    if (entry.msg === 'mail rejected' && typeof entry.uid === 'number') {
      const checkMs = (entry.senderAuthentication as { checkMs?: unknown } | undefined)?.checkMs;
      found.push({ uid: entry.uid, outcome, ...(typeof checkMs === 'number' ? { checkMs } : {}) });
    } else if (
      (entry.msg === 'decision accepted' || entry.msg === 'decision ignored') &&
      typeof entry.messageId === 'string' &&
      entry.channel !== 'api'
    )
      found.push({ messageId: entry.messageId, outcome });
  }
  return found;
}

/**
 * Each message of a round as its sync runs report it. A decision the sync signalled gets the task
 * workflow's verdict from the log (undefined until it is logged); every rejection is checked
 * against its log line, as operators read it.
 */
export function roundOutcomes(
  summaries: readonly SyncSummary[],
  logged: readonly LoggedOutcome[],
): { outcomes: MessageOutcome[]; verdictsMissing: number; problems: string[] } {
  const problems: string[] = [];
  const listed = summaries.flatMap((s) => s.outcomes);
  const total = summaries.reduce((n, s) => n + s.messages, 0);
  if (listed.length < total)
    problems.push(`the sync results list ${listed.length} of their ${total} messages`);
  const rejections = new Map(logged.flatMap((l) => (l.uid === undefined ? [] : [[l.uid, l] as const])));
  // Two copies of one message share a Message-ID: each takes one verdict.
  const verdicts = new Map<string, string[]>();
  for (const l of logged)
    if (l.messageId !== undefined)
      verdicts.set(l.messageId, [...(verdicts.get(l.messageId) ?? []), l.outcome]);
  let verdictsMissing = 0;
  const outcomes = listed.map(({ code, uid, messageId }): MessageOutcome => {
    if (code === 'signalled') {
      const verdict = verdicts.get(messageId ?? '')?.shift();
      if (verdict === undefined) verdictsMissing++;
      return { uid, messageId, outcome: verdict ?? 'signalled' };
    }
    if (code === 'task-closed') return { uid, messageId, outcome: code };
    const line = rejections.get(uid);
    if (line?.outcome !== code)
      problems.push(`UID ${uid}: the sync says ${code}, the log ${line?.outcome ?? 'nothing'}`);
    return {
      uid,
      messageId,
      outcome: code,
      ...(line?.checkMs !== undefined ? { checkMs: line.checkMs } : {}),
    };
  });
  return { outcomes, verdictsMissing, problems };
}
