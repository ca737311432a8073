import type { Client } from '@temporalio/client';
import type { Config } from '../../../config/schema';
import type { SyncSummary } from '../../../workflows/mailbox-sync';
import { endRunningSyncs } from '../../helpers/env';
import { triggerSyncRun } from '../../helpers/sync-runs';

/**
 * Triggers the schedule's sync and waits for that run to end. A run that does not end within
 * `limitMs` (a failure bound, not a speed check) is a stall: it is terminated and reported.
 */
export async function runOneSync(
  temporal: Client,
  config: Config,
  limitMs: number,
): Promise<{ summary?: SyncSummary; stalled?: string }> {
  // An earlier run (a stall that was ended, or one the worker started at its start) may still be
  // draining hostile mail: wait for it, within the same failure bound.
  const handle = await triggerSyncRun(temporal, config.temporal.taskQueue, limitMs);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), limitMs)));
  try {
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
