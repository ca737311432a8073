import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** What happened to one message, as far as the sync and the task workflows tell. */
export interface MessageOutcome {
  /** Set for the sync's rejections (every rejected message has a UID, not every one a Message-ID). */
  uid?: number;
  /** Set for what the task workflow or the sync did with a decision: accepted or ignored. */
  messageId?: string;
  outcome: string;
}

/**
 * Outcomes the worker logged since `offset` of its log file (rejections by the sync, decisions
 * accepted or ignored by the task workflow or the sync). The one place to switch once mailboxSync
 * returns per-message outcomes (intake branch): rejections then come from the sync results, and
 * only the task workflows' verdicts on decisions still need these lines (or the task states).
 */
export function outcomesLoggedSince(logFile: string, offset: number): MessageOutcome[] {
  const size = statSync(logFile).size;
  const buffer = Buffer.alloc(size - offset);
  const fd = openSync(logFile, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, offset);
  } finally {
    closeSync(fd);
  }
  const found: MessageOutcome[] = [];
  for (const line of buffer.toString('utf8').split('\n')) {
    if (!line.includes('"outcome"')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    const outcome = entry.outcome;
    if (typeof outcome !== 'string') continue;
    if (entry.msg === 'mail rejected' && typeof entry.uid === 'number')
      found.push({ uid: entry.uid, outcome });
    else if (
      (entry.msg === 'decision accepted' || entry.msg === 'decision ignored') &&
      typeof entry.messageId === 'string' &&
      entry.channel !== 'api'
    )
      found.push({ messageId: entry.messageId, outcome });
  }
  return found;
}

/** The outcomes of the messages with these UIDs and Message-IDs, each logged line counted once. */
export function outcomesOf(
  all: readonly MessageOutcome[],
  { uids, messageIds }: { uids: readonly number[]; messageIds: readonly string[] },
): string[] {
  return all
    .filter(
      (o) =>
        (o.uid !== undefined && uids.includes(o.uid)) ||
        (o.messageId !== undefined && messageIds.includes(o.messageId)),
    )
    .map((o) => o.outcome);
}
