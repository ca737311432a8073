import type { Client } from '@temporalio/client';
import { syncScheduleId, triggerSync } from '../../worker/sync-schedule';
import type { mailboxSync, MessageOutcome, SyncSummary } from '../../workflows/mailbox-sync';
import { eventually } from './env';

/**
 * Triggers a sync run and returns its result: what became of each message. For tests whose syncs
 * run only when triggered (`triggeredSyncsOnly`), so the next run the schedule starts is this one.
 */
export async function syncAndWait(client: Client, taskQueue: string): Promise<SyncSummary> {
  const schedule = client.schedule.getHandle(syncScheduleId(taskQueue));
  const runIds = async () =>
    (await schedule.describe()).info.recentActions.map((a) => a.action.workflow.firstExecutionRunId);
  const earlier = new Set(await runIds());
  await triggerSync(client, taskQueue);
  const started = await eventually('the triggered sync run to start', async () =>
    (await schedule.describe()).info.recentActions.find(
      (a) => !earlier.has(a.action.workflow.firstExecutionRunId),
    ),
  );
  const { workflowId, firstExecutionRunId } = started.action.workflow;
  return client.workflow.getHandle<typeof mailboxSync>(workflowId, firstExecutionRunId).result();
}

/** The outcome of the message with this Message-ID in a sync run's result. */
export function outcomeOf(summary: SyncSummary, messageId: string): MessageOutcome | undefined {
  return summary.outcomes.find((o) => o.messageId === messageId);
}
