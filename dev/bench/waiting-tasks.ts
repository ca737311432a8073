/**
 * Scale: one worker process with N tasks waiting (10,000; --quick: 300). Measured in the same run:
 * - its RSS once all wait, against the same worker with no task;
 * - one empty-INBOX sync run with N waiting, against the same with none;
 * - `task list --status waiting` (the CLI, a process of its own) listing all N, against a plain
 *   visibility list of the same query in a process of its own.
 * Run: node --import tsx dev/bench/waiting-tasks.ts [--quick]
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { connectTemporal } from '../../client/connect';
import { RemoteCompletionClient } from '../../client/task-client';
import { taskWorkflowId } from '../../workflows/definitions';
import { repoRoot } from '../stack';
import {
  ALICE,
  benchStack,
  clearMailbox,
  COMPLETION,
  inFlight,
  median,
  quick,
  report,
  rssMb,
  runBench,
  spawnWorker,
  spread,
  timedSyncRun,
  waitUntil,
} from './harness';

const N = Number(process.env.BENCH_WAITING ?? (quick ? 200 : 10_000));
const SYNC_RUNS = quick ? 3 : 5;
const LISTS = quick ? 1 : 3;
const SETTLE_MS = 5_000;

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const started = Date.now();
  await work();
  return Date.now() - started;
};

runBench(async () => {
  const bench = await benchStack();
  // BENCH_CACHE: another workflow cache size than the default, to measure what the bound buys.
  const config = bench.config('waiting', (c) => {
    if (process.env.BENCH_CACHE) c.temporal.maxCachedWorkflows = Number(process.env.BENCH_CACHE);
  });
  await clearMailbox(config, bench.account(ALICE));
  await clearMailbox(config, bench.account(COMPLETION));
  const configFile = path.join(repoRoot(), '.stack', 'bench', 'tmp', `${config.temporal.taskQueue}-cli.yaml`);
  writeFileSync(configFile, stringify(config), { mode: 0o600 });
  const worker = await spawnWorker('product', config);
  const { client, connection } = await connectTemporal(config.temporal);
  const tasks = new RemoteCompletionClient(client, config.temporal.taskQueue);
  const taskIds = Array.from({ length: N }, (_, i) => `bench-waiting-${i}-${Date.now()}`);
  try {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const rssEmpty = rssMb(worker.pid);
    const syncEmpty: number[] = [];
    for (let i = 0; i < SYNC_RUNS; i++) syncEmpty.push(await timedSyncRun(client, config.temporal.taskQueue));

    const startedAt = Date.now();
    await inFlight(taskIds, 20, (taskId) => tasks.start({ taskId, title: 'Waiting', assignees: ALICE }));
    const waitingQuery = `TaskQueue = '${config.temporal.taskQueue}' AND RemoteCompletionStatus = 'waiting' AND ExecutionStatus = 'Running'`;
    await waitUntil(
      `${N} tasks waiting`,
      async () => (await client.workflow.count(waitingQuery)).count >= N,
      3_600_000,
      1_000,
    );
    const startSeconds = (Date.now() - startedAt) / 1000;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const rssWaiting = rssMb(worker.pid);
    const syncWaiting: number[] = [];
    for (let i = 0; i < SYNC_RUNS; i++)
      syncWaiting.push(await timedSyncRun(client, config.temporal.taskQueue));

    const run = promisify(execFile);
    const cli = path.join(repoRoot(), 'bin', 'remote-completion.js');
    const lists: number[] = [];
    const plainLists: number[] = [];
    for (let i = 0; i < LISTS; i++) {
      plainLists.push(
        await timed(async () => {
          const { stdout } = await run(process.execPath, [
            '--import',
            'tsx',
            path.join(__dirname, 'plain-list.ts'),
            configFile,
          ]);
          if (Number(stdout) < N) throw new Error(`the plain list saw ${stdout.trim()} of ${N} waiting`);
        }),
      );
      lists.push(
        await timed(async () => {
          const { stdout } = await run(
            process.execPath,
            [cli, 'task', 'list', '--status', 'waiting', '--json', '--config', configFile],
            { maxBuffer: 1 << 30 },
          );
          const listed = (JSON.parse(stdout) as unknown[]).length;
          if (listed < N) throw new Error(`task list saw ${listed} of ${N} waiting`);
        }),
      );
    }
    report({
      figure: `worker RSS with ${N} tasks waiting`,
      ours: rssWaiting,
      floor: rssEmpty,
      floorWhat: 'the same worker with 0 tasks',
      unit: 'MB',
      detail: `workflow cache ${config.temporal.maxCachedWorkflows}; read ${SETTLE_MS / 1000} s after all waited (${N} started in ${startSeconds.toFixed(0)} s)`,
    });
    report({
      figure: `one empty-INBOX sync run with ${N} tasks waiting`,
      ours: median(syncWaiting),
      floor: median(syncEmpty),
      floorWhat: 'with 0 waiting',
      unit: 'ms',
      detail: `${SYNC_RUNS} runs each; ours ${spread(syncWaiting, 'ms')}`,
    });
    report({
      figure: `task list --status waiting with ${N} waiting (CLI process)`,
      ours: median(lists) / 1000,
      floor: median(plainLists) / 1000,
      floorWhat: 'a plain visibility list of the same, in a process of its own',
      unit: 's',
      detail: `${LISTS} repeats`,
    });
  } finally {
    // Ended, so that later runs list only their own waiting tasks.
    await inFlight(taskIds, 50, (taskId) =>
      client.workflow
        .getHandle(taskWorkflowId(taskId))
        .terminate('bench over')
        .catch(() => undefined),
    );
    await connection.close();
    await worker.stop();
  }
});
