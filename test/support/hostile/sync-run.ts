import type { Client } from '@temporalio/client';
import type { Config } from '../../../config/schema';
import { syncScheduleId, triggerSync } from '../../../worker/sync-schedule';
import type { SyncSummary } from '../../../workflows/mailbox-sync';
import { endRunningSyncs, eventually } from '../../helpers/env';

/**
 * Triggers the schedule's sync and waits for that run to end. A run that does not end within
 * `limitMs` (a failure bound, not a speed check) is a stall: it is terminated and reported.
 */
export async function runOneSync(
  temporal: Client,
  config: Config,
  limitMs: number,
): Promise<{ summary?: SyncSummary; stalled?: string }> {
  const schedule = temporal.schedule.getHandle(syncScheduleId(config.temporal.taskQueue));
  const runIds = async () => (await schedule.describe()).info.recentActions.map((a) => a.action.workflow);
  const earlier = new Set((await runIds()).map((w) => w.workflowId));
  await triggerSync(temporal, config.temporal.taskQueue);
  const run = await eventually(
    'the triggered sync to start',
    async () => (await runIds()).find((w) => !earlier.has(w.workflowId)),
    30_000,
  );
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), limitMs)));
  try {
    const handle = temporal.workflow.getHandle<() => Promise<SyncSummary>>(
      run.workflowId,
      run.firstExecutionRunId,
    );
    const result = await Promise.race([handle.result(), limit]);
    if (result !== 'stalled') return { summary: result };
    await endRunningSyncs(temporal, config, 'hostile corpus: the sync stalled');
    return { stalled: `the sync run did not end within ${limitMs / 1000} s` };
  } catch (err) {
    return { stalled: `the sync run failed: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
