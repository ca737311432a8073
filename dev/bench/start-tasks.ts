/**
 * Starting tasks: N tasks started (20 in flight) until all N requests are in the assignee's
 * mailbox. Floor, in the same run: N trivial workflows of the same shape (start, two activities,
 * wait) started the same way, until the second activity of each has run.
 * Run: node --import tsx dev/bench/start-tasks.ts [--quick]
 */
import { connectTemporal } from '../../client/connect';
import { RemoteCompletionClient } from '../../client/task-client';
import { createWorker } from '../../worker/run-worker';
import { createFloorWorker } from './floor/worker';
import type { floorTask } from './floor/workflows';
import {
  ALICE,
  benchStack,
  clearMailbox,
  inFlight,
  log,
  median,
  quick,
  repeats,
  report,
  runBench,
  spread,
  waitForInbox,
  waitUntil,
  type Bench,
} from './harness';

const N = quick ? 50 : 300;

async function ours(bench: Bench): Promise<number> {
  const config = bench.config('start');
  await clearMailbox(config, bench.account(ALICE));
  const worker = await createWorker(config, log);
  const running = worker.run();
  const { client, connection } = await connectTemporal(config.temporal);
  const tasks = new RemoteCompletionClient(client, config.temporal.taskQueue);
  try {
    const taskIds = Array.from({ length: N }, (_, i) => `bench-start-${i}-${Date.now()}`);
    const started = Date.now();
    await inFlight(taskIds, 20, (taskId) => tasks.start({ taskId, title: 'Start', assignees: ALICE }));
    await waitForInbox(config, bench.account(ALICE), N, 600_000);
    const took = Date.now() - started;
    await inFlight(taskIds, 20, (taskId) => tasks.cancel(taskId));
    return took;
  } finally {
    await connection.close();
    await worker.shutdown();
    await running;
  }
}

async function floor(bench: Bench): Promise<number> {
  const config = bench.config('start-floor');
  let seconds = 0;
  const { worker, connection: workerConnection } = await createFloorWorker(
    config,
    config.temporal.taskQueue,
    () => seconds++,
  );
  const running = worker.run();
  const { client, connection } = await connectTemporal(config.temporal);
  try {
    const ids = Array.from({ length: N }, (_, i) => `${config.temporal.taskQueue}-${i}`);
    const started = Date.now();
    const handles = await inFlight(ids, 20, (workflowId) =>
      client.workflow.start<typeof floorTask>('floorTask', {
        workflowId,
        taskQueue: config.temporal.taskQueue,
      }),
    );
    await waitUntil('every floor task at its wait', () => Promise.resolve(seconds >= N), 600_000, 20);
    const took = Date.now() - started;
    await inFlight(handles, 20, (handle) => handle.terminate('bench over'));
    return took;
  } finally {
    await connection.close();
    worker.shutdown();
    await running;
    await workerConnection.close();
  }
}

runBench(async () => {
  const bench = await benchStack();
  const runs = [];
  for (let i = 0; i < repeats; i++) runs.push({ floor: await floor(bench), ours: await ours(bench) });
  const oursS = runs.map((r) => r.ours / 1000);
  const floorS = runs.map((r) => r.floor / 1000);
  report({
    figure: `start ${N} tasks until all ${N} requests are in the mailbox`,
    ours: median(oursS),
    floor: median(floorS),
    floorWhat: `${N} trivial workflows: start, two activities, wait`,
    unit: 's',
    detail: `${repeats} repeats; ours ${spread(oursS, 's')}; floor ${spread(floorS, 's')}`,
  });
});
