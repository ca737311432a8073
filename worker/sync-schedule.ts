import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleHandle,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { mailboxSync } from '../workflows/mailbox-sync';

/** One schedule per task queue, so the production deployment has exactly one. */
export const syncScheduleId = (taskQueue: string): string => `remote-completion-mailbox-sync/${taskQueue}`;

function syncScheduleOptions(config: Config, now = Date.now()): ScheduleOptions {
  const { syncInterval, startupDelay } = config.remoteCompletion;
  const id = syncScheduleId(config.temporal.taskQueue);
  return {
    scheduleId: id,
    spec: { intervals: [{ every: syncInterval }], startAt: new Date(now + startupDelay) },
    action: {
      type: 'startWorkflow',
      workflowType: 'mailboxSync' satisfies (typeof mailboxSync)['name'],
      workflowId: id,
      taskQueue: config.temporal.taskQueue,
      args: [],
      // A stuck run must not hold the schedule (no overlap) forever.
      workflowExecutionTimeout: Math.max(5 * 60_000, 4 * syncInterval),
    },
    // BUFFER_ONE: a tick or IDLE trigger during a run queues exactly one more run, never a parallel one.
    policies: {
      overlap: ScheduleOverlapPolicy.BUFFER_ONE,
      catchupWindow: Math.max(60_000, syncInterval),
      pauseOnFailure: false,
    },
  };
}

/** Creates the mailbox-sync schedule, or reconciles its interval, delay and policies with the config. */
export async function ensureSyncSchedule(
  client: Client,
  config: Config,
  log: Logger,
): Promise<ScheduleHandle> {
  const options = syncScheduleOptions(config);
  try {
    const handle = await client.schedule.create(options);
    log.info(
      { scheduleId: options.scheduleId, every: config.remoteCompletion.syncInterval },
      'mailbox sync schedule created',
    );
    return handle;
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(options.scheduleId);
  // Keep what operators and earlier starts decided: a pause stays, and the first-run delay
  // applied once, when the schedule was created.
  await handle.update((previous) => ({
    ...previous,
    spec: { ...options.spec, startAt: previous.spec.startAt },
    action: options.action,
    policies: options.policies,
  }));
  log.info(
    { scheduleId: options.scheduleId, every: config.remoteCompletion.syncInterval },
    'mailbox sync schedule reconciled',
  );
  return handle;
}

/** Runs a sync now; queues one behind a running sync instead of running two at once. */
export async function triggerSync(client: Client, taskQueue: string): Promise<void> {
  await client.schedule.getHandle(syncScheduleId(taskQueue)).trigger(ScheduleOverlapPolicy.BUFFER_ONE);
}

/** The safety-net interval: longer while IMAP IDLE reports new mail, never shorter than syncInterval. */
export function syncIntervalFor(config: Config, idleConnected: boolean): number {
  const { syncInterval, idleSyncInterval } = config.remoteCompletion;
  return idleConnected ? Math.max(syncInterval, idleSyncInterval) : syncInterval;
}

/**
 * Keeps the schedule's interval in line with the IDLE watcher: `idleSyncInterval` while it is
 * connected, `syncInterval` as soon as it is not. Updates run one at a time and only on a change;
 * the schedule starts at syncInterval (ensureSyncSchedule). With several workers, the latest
 * change any of them saw wins.
 */
export function followIdleConnection(
  client: Client,
  config: Config,
  log: Logger,
): (idleConnected: boolean) => void {
  const handle = client.schedule.getHandle(syncScheduleId(config.temporal.taskQueue));
  let applied = config.remoteCompletion.syncInterval;
  let wanted = applied;
  let updates = Promise.resolve();
  return (idleConnected) => {
    wanted = syncIntervalFor(config, idleConnected);
    updates = updates.then(async () => {
      const every = wanted;
      if (every === applied) return;
      try {
        await handle.update((previous) => ({
          ...previous,
          spec: { ...previous.spec, intervals: [{ every }] },
        }));
        applied = every;
        log.info(
          { every, idle: every === config.remoteCompletion.syncInterval ? 'down' : 'connected' },
          'mailbox sync schedule follows IMAP IDLE',
        );
      } catch (err) {
        log.warn({ err: (err as Error).message, every }, 'could not change the mailbox sync interval');
      }
    });
  };
}
