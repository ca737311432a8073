import { getExternalWorkflowHandle, log, proxyActivities } from '@temporalio/workflow';
import type * as mailboxActivities from '../activities/mailbox';
import { emailDecisionSignal } from './definitions';

type MailboxActivities = ReturnType<typeof mailboxActivities.createMailboxActivities>;

// Network and login errors are retried with backoff; a run that cannot reach IMAP ends and the
// next scheduled run tries again, so a broken mailbox never blocks the schedule.
const { fetchMailBatch, removeMail } = proxyActivities<MailboxActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

export interface SyncSummary {
  messages: number;
  signalled: number;
  rejected: number;
  batches: number;
}

/** Bounds one run; whatever is left waits for the next run. */
const MAX_BATCHES = 50;

/**
 * One pass over the completion mailbox: read a batch, signal each decided task, then remove the
 * batch; repeat until INBOX is drained. Mail is removed only after its signals are recorded.
 */
export async function mailboxSync(): Promise<SyncSummary> {
  const summary: SyncSummary = { messages: 0, signalled: 0, rejected: 0, batches: 0 };
  for (let more = true; more && summary.batches < MAX_BATCHES; summary.batches++) {
    const batch = await fetchMailBatch();
    more = batch.more;
    summary.messages += batch.messages.length;
    // Mail kept for a later run (sender not yet authenticated) stays at the head of INBOX.
    if (batch.messages.every((m) => m.deferred)) break;
    await Promise.all(
      batch.messages.map(async (message) => {
        if (message.deferred) return;
        if (!message.decision) {
          summary.rejected++;
          return;
        }
        const { workflowId, ...decision } = message.decision;
        try {
          await getExternalWorkflowHandle(workflowId).signal(emailDecisionSignal, decision);
          summary.signalled++;
        } catch (err) {
          // The task is closed or gone: an outcome for this message, not a failure of the run.
          log.info('decision ignored', {
            outcome: 'task-closed',
            workflowId,
            messageId: decision.messageId,
            by: decision.sender,
            reason: err instanceof Error ? err.message : String(err),
          });
        }
      }),
    );
    await removeMail({
      uidValidity: batch.uidValidity,
      uids: batch.messages.filter((m) => !m.deferred).map((m) => m.uid),
    });
  }
  if (summary.messages > 0) log.info('mailbox sync done', { ...summary });
  return summary;
}
