/**
 * Drain: N replies waiting in the completion mailbox, the worker running, one sync triggered, until
 * all N tasks are closed. Floors, measured in the same run: one imapflow login that fetches,
 * parses (mailparser) and deletes the same N messages (a server-side copy of them); and a client
 * signalling N waiting trivial workflows, 20 in flight, until all are closed. The floor is their sum:
 * the plainest drain reads everything, then signals everything. Also shown: the same signals sent
 * by one plain workflow (20 lanes), the path the sync must take, as a bound of what it can reach.
 * Run: node --import tsx dev/bench/drain.ts [--quick]
 */
import { simpleParser } from 'mailparser';
import { connectTemporal } from '../../client/connect';
import { RemoteCompletionClient } from '../../client/task-client';
import type { Config } from '../../config/schema';
import { createWorker } from '../../worker/run-worker';
import { triggerSync } from '../../worker/sync-schedule';
import { replyFromLink } from '../mail-client';
import type { StackAccount } from '../stack';
import { createFloorWorker } from './floor/worker';
import { doneSignal, type floorSignaller, type floorWait } from './floor/workflows';
import {
  ALICE,
  benchStack,
  clearMailbox,
  completeLinks,
  COMPLETION,
  imapAs,
  inFlight,
  log,
  median,
  quick,
  repeats,
  report,
  runBench,
  smtpAs,
  spread,
  waitForInbox,
  type Bench,
} from './harness';

const N = Number(process.env.BENCH_DRAIN ?? (quick ? 50 : 300));
const FLOOR_FOLDER = 'bench-floor';

/** The plainest read of N messages: one login, fetch all, parse each, delete all. */
async function imapFloor(config: Config, completion: StackAccount): Promise<number> {
  const setup = imapAs(config, completion);
  await setup.connect();
  try {
    await setup.mailboxCreate(FLOOR_FOLDER).catch(() => undefined);
    await clearMailbox(config, completion, FLOOR_FOLDER);
    const lock = await setup.getMailboxLock('INBOX');
    try {
      await setup.messageCopy('1:*', FLOOR_FOLDER);
    } finally {
      lock.release();
    }
  } finally {
    await setup.logout();
  }
  const started = Date.now();
  const imap = imapAs(config, completion);
  await imap.connect();
  const lock = await imap.getMailboxLock(FLOOR_FOLDER);
  try {
    const sources: Buffer[] = [];
    for await (const m of imap.fetch('1:*', { uid: true, envelope: true, source: true }))
      if (m.source) sources.push(m.source);
    for (const source of sources) await simpleParser(source);
    await imap.messageDelete('1:*');
    if (sources.length !== N) throw new Error(`the floor read ${sources.length} of ${N} messages`);
  } finally {
    lock.release();
    await imap.logout();
  }
  return Date.now() - started;
}

/** A client signalling N waiting trivial workflows, 20 in flight, until all are closed. */
async function signalFloor(bench: Bench): Promise<{ byClient: number; byWorkflow: number }> {
  const config = bench.config('drain-floor');
  const { worker, connection: workerConnection } = await createFloorWorker(config, config.temporal.taskQueue);
  const running = worker.run();
  const { client, connection } = await connectTemporal(config.temporal);
  try {
    const ids = Array.from({ length: N }, (_, i) => `${config.temporal.taskQueue}-${i}`);
    const handles = await inFlight(ids, 20, (workflowId) =>
      client.workflow.start<typeof floorWait>('floorWait', {
        workflowId,
        taskQueue: config.temporal.taskQueue,
      }),
    );
    const started = Date.now();
    await inFlight(handles, 20, (handle) => handle.signal(doneSignal));
    await Promise.all(handles.map((handle) => handle.result()));
    const byClient = Date.now() - started;

    // The same signals sent by one workflow, 20 lanes, as the sync sends them: what that path costs.
    const more = await inFlight(ids, 20, (id) =>
      client.workflow.start<typeof floorWait>('floorWait', {
        workflowId: `${id}-w`,
        taskQueue: config.temporal.taskQueue,
      }),
    );
    const fromWorkflow = Date.now();
    await client.workflow.execute<typeof floorSignaller>('floorSignaller', {
      workflowId: `${config.temporal.taskQueue}-signaller`,
      taskQueue: config.temporal.taskQueue,
      args: [more.map((h) => h.workflowId), 20],
    });
    await Promise.all(more.map((handle) => handle.result()));
    return { byClient, byWorkflow: Date.now() - fromWorkflow };
  } finally {
    await connection.close();
    worker.shutdown();
    await running;
    await workerConnection.close();
  }
}

interface DrainRun {
  ours: number;
  imap: number;
  signals: number;
  workflowSignals: number;
  syncMs: number;
  lastDecisionMs: number;
}

async function drainOnce(bench: Bench): Promise<DrainRun> {
  const alice = bench.account(ALICE);
  const completion = bench.account(COMPLETION);
  const config = bench.config('drain');
  await clearMailbox(config, alice);
  await clearMailbox(config, completion);
  const worker = await createWorker(config, log);
  const running = worker.run();
  const { client, connection } = await connectTemporal(config.temporal);
  const tasks = new RemoteCompletionClient(client, config.temporal.taskQueue);
  const smtp = smtpAs(config, alice);
  try {
    const taskIds = Array.from({ length: N }, (_, i) => `bench-drain-${i}-${Date.now()}`);
    await inFlight(taskIds, 20, (taskId) => tasks.start({ taskId, title: 'Drain', assignees: ALICE }));
    await waitForInbox(config, alice, N, 300_000);
    const links = await completeLinks(config, alice, taskIds);
    await inFlight(taskIds, 5, (taskId) => smtp.sendAs(replyFromLink(links.get(taskId)!, 'drain\n')));
    await waitForInbox(config, completion, N, 120_000);
    const imap = await imapFloor(config, completion);

    const started = Date.now();
    await triggerSync(client, config.temporal.taskQueue);
    const decided: number[] = [];
    await Promise.all(
      taskIds.map(async (taskId) => {
        const result = await tasks.waitForResult(taskId, 600_000);
        decided.push(Date.parse(result.decidedAt));
      }),
    );
    const ours = Date.now() - started;
    // Where the time went: the sync runs themselves, and when the last decision was taken.
    let syncMs = 0;
    const query = `WorkflowType = 'mailboxSync' AND TaskQueue = '${config.temporal.taskQueue}'`;
    for await (const run of client.workflow.list({ query }))
      syncMs += (run.closeTime?.getTime() ?? Date.now()) - run.startTime.getTime();
    const signals = await signalFloor(bench);
    return {
      ours,
      imap,
      signals: signals.byClient,
      workflowSignals: signals.byWorkflow,
      syncMs,
      lastDecisionMs: Math.max(...decided) - started,
    };
  } finally {
    smtp.close();
    await connection.close();
    await worker.shutdown();
    await running;
  }
}

runBench(async () => {
  const bench = await benchStack();
  const runs = [];
  for (let i = 0; i < repeats; i++) runs.push(await drainOnce(bench));
  const ours = runs.map((r) => r.ours / 1000);
  const floors = runs.map((r) => (r.imap + r.signals) / 1000);
  report({
    figure: `drain: ${N} replies waiting, worker running, until ${N} tasks closed`,
    ours: median(ours),
    floor: median(floors),
    floorWhat: 'one login fetch+parse+delete, then signal N waiting workflows 20 in flight',
    unit: 's',
    detail:
      `${repeats} repeats; ours ${spread(ours, 's')}, of which sync runs ${median(runs.map((r) => r.syncMs))} ms, ` +
      `last decision at ${median(runs.map((r) => r.lastDecisionMs))} ms; ` +
      `floor imap ${median(runs.map((r) => r.imap))} ms + signals ${median(runs.map((r) => r.signals))} ms; ` +
      `the same signals from one workflow, 20 lanes: ${median(runs.map((r) => r.workflowSignals))} ms`,
  });
});
