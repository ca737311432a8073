/**
 * Idle cost: how many sync runs (each one IMAP login and one workflow execution) the schedule
 * makes in an hour while the worker's IMAP IDLE session is connected and nothing arrives; and
 * with IDLE off. Read from the schedule's own next action times once the worker has set it.
 * Run: node --import tsx dev/bench/idle-runs.ts [--quick]
 */
import { connectTemporal } from '../../client/connect';
import type { Config } from '../../config/schema';
import { createWorker } from '../../worker/run-worker';
import { syncScheduleId } from '../../worker/sync-schedule';
import { benchStack, log, report, runBench, waitUntil } from './harness';

/** Runs per hour from the schedule's upcoming action times, once its interval is `expected`. */
async function runsPerHour(config: Config, expected: number): Promise<number> {
  const worker = await createWorker(config, log);
  const running = worker.run();
  const { client, connection } = await connectTemporal(config.temporal);
  const schedule = client.schedule.getHandle(syncScheduleId(config.temporal.taskQueue));
  try {
    const { info } = await waitUntil(
      'the schedule to follow IDLE',
      async () => {
        const description = await schedule.describe();
        return description.spec.intervals?.[0]?.every === expected && description;
      },
      60_000,
      200,
    );
    const times = info.nextActionTimes.map((t) => t.getTime());
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    return 3_600_000 / (gaps.reduce((a, b) => a + b, 0) / gaps.length);
  } finally {
    await schedule.delete();
    await connection.close();
    await worker.shutdown();
    await running;
  }
}

runBench(async () => {
  const bench = await benchStack();
  // The product's defaults for the intervals, first run at once.
  const defaults = (c: Config, idle: boolean) => {
    c.remoteCompletion.syncInterval = 30_000;
    c.remoteCompletion.idleSyncInterval = 300_000;
    c.remoteCompletion.startupDelay = 0;
    c.imap.idle = idle;
  };
  const idle = await runsPerHour(
    bench.config('idle-on', (c) => defaults(c, true)),
    300_000,
  );
  const polling = await runsPerHour(
    bench.config('idle-off', (c) => defaults(c, false)),
    30_000,
  );
  report({
    figure: 'sync runs per hour while idle, IMAP IDLE connected (one IMAP login each)',
    ours: idle,
    floor: polling,
    floorWhat: 'IDLE off: every syncInterval',
    unit: 'runs/h',
    detail: 'defaults: idleSyncInterval 5m, syncInterval 30s; from the schedule',
  });
});
