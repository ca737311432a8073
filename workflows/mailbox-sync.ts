import { getExternalWorkflowHandle, log, proxyActivities } from '@temporalio/workflow';
import type * as mailboxActivities from '../activities/mailbox';
import type { OutcomeCode } from '../domain/mail-outcome';
import { emailDecisionSignal } from './definitions';

type MailboxActivities = ReturnType<typeof mailboxActivities.createMailboxActivities>;

// Network and login errors are retried with backoff; a run that cannot reach IMAP ends and the
// next scheduled run tries again, so a broken mailbox never blocks the schedule.
const { fetchMailBatch, removeMail } = proxyActivities<MailboxActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/** What became of one message of the completion mailbox. */
export interface MessageOutcome {
  code: OutcomeCode;
  /** UID in INBOX when it was read. */
  uid: number;
  /** Its Message-ID (else `uidvalidity:uid` for a decision), when known. */
  messageId?: string;
  /** The task workflow a decision was for. */
  workflowId?: string;
}

/** The run's result, as the Temporal UI shows it. */
export interface SyncSummary {
  messages: number;
  batches: number;
  /** Messages per outcome code. */
  counts: Partial<Record<OutcomeCode, number>>;
  /** The first MAX_LISTED messages, in the order they were read; `counts` covers all of them. */
  outcomes: MessageOutcome[];
}

/** Bounds one run; whatever is left waits for the next run. */
const MAX_BATCHES = 50;
/** Keeps the result small: a run reads up to 50 x 25 messages. */
const MAX_LISTED = 200;

/**
 * One pass over the completion mailbox: read a batch, signal each decided task, then remove the
 * batch; repeat until INBOX is drained. Mail is removed only after its signals are recorded.
 */
export async function mailboxSync(): Promise<SyncSummary> {
  const summary: SyncSummary = { messages: 0, batches: 0, counts: {}, outcomes: [] };
  const record = (outcome: MessageOutcome): void => {
    summary.counts[outcome.code] = (summary.counts[outcome.code] ?? 0) + 1;
    if (summary.outcomes.length < MAX_LISTED) summary.outcomes.push(outcome);
  };
  for (let more = true; more && summary.batches < MAX_BATCHES; summary.batches++) {
    const batch = await fetchMailBatch();
    more = batch.more;
    summary.messages += batch.messages.length;
    const outcomes = await Promise.all(
      batch.messages.map(async (message): Promise<MessageOutcome> => {
        const { uid, messageId } = message;
        if (message.outcome !== 'decision') return { code: message.outcome, uid, messageId };
        const { workflowId, decision } = message;
        try {
          await getExternalWorkflowHandle(workflowId).signal(emailDecisionSignal, decision);
          return { code: 'signalled', uid, messageId, workflowId };
        } catch (err) {
          // The task is closed or gone: an outcome for this message, not a failure of the run.
          log.info('decision ignored', {
            outcome: 'task-closed',
            workflowId,
            messageId,
            by: decision.sender,
            reason: err instanceof Error ? err.message : String(err),
          });
          return { code: 'task-closed', uid, messageId, workflowId };
        }
      }),
    );
    outcomes.forEach(record);
    // Mail kept for a later run (sender not yet authenticated) stays at the head of INBOX.
    const done = batch.messages.filter((m) => m.outcome !== 'deferred');
    if (done.length === 0) break;
    await removeMail({ uidValidity: batch.uidValidity, uids: done.map((m) => m.uid) });
  }
  if (summary.messages > 0)
    log.info('mailbox sync done', {
      messages: summary.messages,
      batches: summary.batches,
      ...summary.counts,
    });
  return summary;
}
