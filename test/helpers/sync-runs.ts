import type { Client, WorkflowHandle } from '@temporalio/client';
import { syncScheduleId, triggerSync } from '../../worker/sync-schedule';
import type { mailboxSync, MessageOutcome, SyncSummary } from '../../workflows/mailbox-sync';
import { eventually } from './env';

/**
 * Triggers a sync run and returns its handle. For tests whose syncs run only when triggered
 * (`triggeredSyncsOnly`): once no run is under way or buffered, the run triggered here is the next
 * one the schedule starts, however slow the machine is. `quietWithinMs` bounds the wait for an
 * earlier run to end.
 */
export async function triggerSyncRun(
  client: Client,
  taskQueue: string,
  quietWithinMs = 30_000,
): Promise<WorkflowHandle<typeof mailboxSync>> {
  const schedule = client.schedule.getHandle(syncScheduleId(taskQueue));
  const quiet = await eventually(
    'no sync run under way or buffered',
    async () => {
      const { info, raw } = await schedule.describe();
      return info.runningActions.length === 0 && Number(raw.info?.bufferSize ?? 0) === 0 && info;
    },
    quietWithinMs,
  );
  const earlier = new Set(quiet.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
  await triggerSync(client, taskQueue);
  const started = await eventually('the triggered sync run to start', async () =>
    (await schedule.describe()).info.recentActions.find(
      (a) => !earlier.has(a.action.workflow.firstExecutionRunId),
    ),
  );
  const { workflowId, firstExecutionRunId } = started.action.workflow;
  return client.workflow.getHandle<typeof mailboxSync>(workflowId, firstExecutionRunId);
}

/** Triggers a sync run and returns its result: what became of each message (see triggerSyncRun). */
export async function syncAndWait(client: Client, taskQueue: string): Promise<SyncSummary> {
  return (await triggerSyncRun(client, taskQueue)).result();
}

/** The outcome of the message with this Message-ID in a sync run's result. */
export function outcomeOf(summary: SyncSummary, messageId: string): MessageOutcome | undefined {
  return summary.outcomes.find((o) => o.messageId === messageId);
}
