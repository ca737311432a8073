/**
 * `npm run record-histories -- <set> [scenario...]`: runs typical task and mailbox-sync workflows on
 * a throw-away Temporal dev server (the mail activities are fakes: no mail stack needed) and saves each run's
 * history as JSON in test/fixtures/histories/<set>/, where test/unit/task-replay.test.ts replays
 * them. Add a scenario to SCENARIOS to record a new kind of run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { SyncedMessage } from '../../activities/mailbox';
import { runTag } from '../../domain/run-tag';
import { repoRoot } from '../../dev/stack';
import { syncScheduleId } from '../../worker/sync-schedule';
import { bundleWorkflows } from '../../worker/workflow-bundle';
import {
  decideUpdate,
  emailDecisionSignal,
  reassignUpdate,
  stateQuery,
  taskWorkflowId,
  type EmailDecision,
  type TaskInput,
} from '../../workflows/definitions';
import type { releaseWithApproval } from '../../dev/workflows/example-release';
import { ASSIGNEES, STATUS } from '../../workflows/search-attributes';
import type { mailboxSync } from '../../workflows/mailbox-sync';
import type { remoteCompletionTask } from '../../workflows/task';
import { FakeMailbox } from '../helpers/fake-mailbox';
import { FakeTaskMail, Gate, type MailEvent } from '../helpers/fake-task-mail';
import { temporalCliPath } from '../helpers/temporal-cli';

const TASK_QUEUE = 'record-histories';
export const HISTORIES_DIR = path.join(repoRoot(), 'test', 'fixtures', 'histories');

type TaskHandle = WorkflowHandle<typeof remoteCompletionTask>;

interface Recorder {
  client: Client;
  mail: FakeTaskMail;
  /** INBOX of the completion mailbox, as the fake fetchMailBatch and removeMail see it. */
  mailbox: FakeMailbox;
  /** Starts a task for alice unless the input says otherwise. */
  startTask(name: string, input?: Partial<TaskInput>): Promise<TaskHandle>;
  /** Signals a decision as the mailbox sync does for a verified reply. */
  reply(
    handle: TaskHandle,
    decision: Partial<EmailDecision> & Pick<EmailDecision, 'messageId'>,
  ): Promise<void>;
  until(what: string, check: () => boolean | Promise<boolean>): Promise<void>;
  /** Starts a mailbox sync run, as the schedule does. */
  startSync(): Promise<WorkflowHandle<typeof mailboxSync>>;
}

/** One kind of run; returns the workflows whose histories to keep (every run of each). */
type Scenario = (r: Recorder) => Promise<WorkflowHandle[]>;

const requestSent = (r: Recorder, handle: WorkflowHandle, to = 'alice@example.test') =>
  r.until(`a request to ${to}`, () =>
    r.mail.of(handle.workflowId).some((e) => e.kind === 'request-sent' && e.to === to),
  );

const firstRunId = async (handle: WorkflowHandle): Promise<string> =>
  (await handle.describe()).raw.workflowExecutionInfo!.firstRunId!;

/** A verified reply, as fetchMailBatch returns it. */
const decisionMail = (uid: number, workflowId: string, runId: string): SyncedMessage => {
  const messageId = `<sync-${uid}@example.test>`;
  return {
    uid,
    messageId,
    outcome: 'decision',
    workflowId,
    decision: {
      runId,
      action: 'complete',
      sender: 'alice@example.test',
      comment: '',
      messageId,
      receivedAt: '2026-01-05T09:00:00.000Z',
    },
  };
};

const SCENARIOS: Record<string, Scenario> = {
  'complete-by-email': async (r) => {
    const task = await r.startTask('complete-by-email');
    await requestSent(r, task);
    await r.reply(task, { messageId: '<reply-1@example.test>', comment: 'Backup verified.' });
    await task.result();
    return [task];
  },
  'fail-by-api': async (r) => {
    const task = await r.startTask('fail-by-api');
    await requestSent(r, task);
    await task.executeUpdate(decideUpdate, { args: [{ action: 'fail', by: 'ops', comment: 'no backup' }] });
    await task.result();
    return [task];
  },
  reassign: async (r) => {
    const task = await r.startTask('reassign');
    await requestSent(r, task);
    await task.executeUpdate(reassignUpdate, { args: [[{ address: 'carol@example.test', name: 'Carol' }]] });
    await requestSent(r, task, 'carol@example.test');
    await r.reply(task, { messageId: '<reply-alice@example.test>' });
    await r.reply(task, { messageId: '<reply-carol@example.test>', sender: 'carol@example.test' });
    await task.result();
    return [task];
  },
  'reassign-closed-during-check': async (r) => {
    const task = await r.startTask('reassign-closed-during-check');
    await requestSent(r, task);
    const checking = new Gate();
    const isReassignCheck = (e: MailEvent) =>
      e.workflowId === task.workflowId && e.kind === 'check' && e.addresses.includes('carol@example.test');
    r.mail.hold(isReassignCheck, checking);
    const reassign = task.executeUpdate(reassignUpdate, { args: [[{ address: 'carol@example.test' }]] });
    await r.until('the reassign check', () => r.mail.events.some(isReassignCheck));
    await r.reply(task, { messageId: '<reply-during-check@example.test>' });
    await r.until('the decision', async () => !!(await task.query(stateQuery)).result);
    checking.open();
    await reassign.then(
      () => {
        throw new Error('the reassign of a closed task was accepted');
      },
      () => undefined,
    );
    await task.result();
    return [task];
  },
  reminders: async (r) => {
    const task = await r.startTask('reminders', { reminderEvery: 300 });
    await r.until(
      'two reminders',
      () => r.mail.of(task.workflowId).filter((e) => e.kind === 'request-sent').length >= 3,
    );
    await task.executeUpdate(decideUpdate, { args: [{ action: 'complete', by: 'ops' }] });
    await task.result();
    return [task];
  },
  timeout: async (r) => {
    const task = await r.startTask('timeout', { timeout: 1000 });
    await task.result();
    return [task];
  },
  cancel: async (r) => {
    const task = await r.startTask('cancel');
    await requestSent(r, task);
    await task.cancel();
    await task.result().catch(() => undefined);
    return [task];
  },
  'duplicate-reply': async (r) => {
    const task = await r.startTask('duplicate-reply', {
      assignees: [{ address: 'alice@example.test' }, { address: 'carol@example.test' }],
    });
    await requestSent(r, task);
    await r.reply(task, { messageId: '<stranger@example.test>', sender: 'bob@other.test' });
    await r.reply(task, { messageId: '<stranger@example.test>' });
    await r.reply(task, { messageId: '<alice@example.test>', action: 'fail' });
    await r.reply(task, { messageId: '<alice@example.test>', action: 'fail' });
    await task.result();
    return [task];
  },
  'continue-as-new': async (r) => {
    const task = await r.startTask('continue-as-new', { reminderEvery: 200, continueAsNewAfterReminders: 2 });
    await r.reply(task, { messageId: '<early@example.test>', sender: 'bob@other.test' });
    await r.until('a third run', async () => (await task.query(stateQuery)).runs >= 3);
    await r.reply(task, { messageId: '<late@example.test>', comment: 'to the first request' });
    await task.result();
    return [task];
  },
  teams: async (r) => {
    const task = await r.startTask('teams', {
      assignees: [
        { address: 'alice@example.test', teams: ['release-managers'] },
        { address: 'carol@example.test', teams: ['release-managers'] },
      ],
    });
    await requestSent(r, task, 'carol@example.test');
    await task.executeUpdate(reassignUpdate, {
      args: [
        [
          { address: 'carol@example.test', teams: ['ops'] },
          { address: 'bob@other.test', teams: ['ops'] },
        ],
      ],
    });
    await requestSent(r, task, 'bob@other.test');
    // A reply to an rc2 request names the run by its tag, not its id.
    const { raw } = await task.describe();
    await r.reply(task, {
      messageId: '<reply-bob@other.test>',
      sender: 'bob@other.test',
      runId: undefined,
      runTag: runTag(raw.workflowExecutionInfo!.firstRunId!),
    });
    await task.result();
    return [task];
  },
  'child-workflow': async (r) => {
    const release = 'r2026.11';
    const parent = await r.client.workflow.start<typeof releaseWithApproval>('releaseWithApproval', {
      workflowId: 'record-release-pipeline',
      taskQueue: TASK_QUEUE,
      args: [{ release, approvers: [{ address: 'alice@example.test', name: 'Alice' }] }],
    });
    const child = r.client.workflow.getHandle(taskWorkflowId(`release-${release}`));
    await requestSent(r, child);
    await child.executeUpdate(decideUpdate, { args: [{ action: 'complete', by: 'alice@example.test' }] });
    await parent.result();
    return [parent, child];
  },
  // Three batches of three (the fake's batch size): a decision signalled to a waiting task,
  // decisions for a closed and a missing task, rejections, and a deferred message read twice and
  // left in INBOX.
  'mailbox-sync': async (r) => {
    const waiting = await r.startTask('mailbox-sync-waiting');
    const closed = await r.startTask('mailbox-sync-closed');
    await requestSent(r, waiting);
    await requestSent(r, closed);
    await closed.executeUpdate(decideUpdate, { args: [{ action: 'complete', by: 'ops' }] });
    await closed.result();
    r.mailbox.fill('1767225600', [
      decisionMail(1, waiting.workflowId, await firstRunId(waiting)),
      { uid: 2, messageId: '<sync-2@example.test>', outcome: 'no-token' },
      decisionMail(3, taskWorkflowId('mailbox-sync-missing'), '00000000-0000-4000-8000-000000000000'),
      decisionMail(4, closed.workflowId, await firstRunId(closed)),
      { uid: 5, messageId: '<sync-5@example.test>', outcome: 'auto-reply' },
      { uid: 6, messageId: '<sync-6@example.test>', outcome: 'deferred' },
      { uid: 7, outcome: 'unparseable' },
    ]);
    const sync = await r.startSync();
    const summary = await sync.result();
    assert.deepEqual(
      {
        batches: summary.batches,
        counts: summary.counts,
        removed: r.mailbox.removed,
        left: r.mailbox.uids(),
      },
      {
        batches: 3,
        counts: {
          signalled: 1,
          'no-token': 1,
          'task-closed': 2,
          'auto-reply': 1,
          deferred: 2,
          unparseable: 1,
        },
        removed: [[1, 2, 3], [4, 5], [7]],
        left: [6],
      },
    );
    assert.equal((await waiting.result()).outcome, 'completed');
    return [sync];
  },
  'mailbox-sync-empty': async (r) => {
    r.mailbox.fill('1767225600', []);
    const sync = await r.startSync();
    assert.equal((await sync.result()).messages, 0);
    return [sync];
  },
};

/** Every run of the workflow's chain, first to last (a task continues as new). */
async function runsOf(handle: WorkflowHandle): Promise<{ runId: string; json: string }[]> {
  const { raw } = await handle.describe();
  let runId: string | undefined =
    raw.workflowExecutionInfo!.firstRunId || raw.workflowExecutionInfo!.execution!.runId!;
  const runs: { runId: string; json: string }[] = [];
  while (runId) {
    const history = await handle.client.getHandle(handle.workflowId, runId).fetchHistory();
    runs.push({ runId, json: historyToJSON(history) });
    const last = history.events?.at(-1);
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

async function main(): Promise<void> {
  const [set, ...only] = process.argv.slice(2);
  if (!set || !/^[a-z0-9][a-z0-9.-]*$/.test(set)) {
    throw new Error(
      `usage: npm run record-histories -- <set> [scenario...]\n  <set>: folder name, e.g. 3-my-change\n  scenarios: ${Object.keys(SCENARIOS).join(', ')}`,
    );
  }
  const unknown = only.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      searchAttributes: [STATUS, ASSIGNEES],
    },
  });
  try {
    const mail = new FakeTaskMail();
    const mailbox = new FakeMailbox(3);
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: { code: await bundleWorkflows(require.resolve('../../dev/workflows')) },
      activities: { ...mail.activities(), ...mailbox.activities() },
    });
    const { client } = env;
    const recorder: Recorder = {
      client,
      mail,
      mailbox,
      startTask: (name, input = {}) =>
        client.workflow.start<typeof remoteCompletionTask>('remoteCompletionTask', {
          workflowId: taskWorkflowId(name),
          taskQueue: TASK_QUEUE,
          args: [
            {
              taskId: name,
              title: `Recorded: ${name}`,
              assignees: [{ address: 'alice@example.test' }],
              ...input,
            },
          ],
        }),
      reply: async (handle, decision) => {
        await handle.signal(emailDecisionSignal, {
          action: 'complete',
          runId: await firstRunId(handle),
          sender: 'alice@example.test',
          comment: '',
          receivedAt: new Date().toISOString(),
          ...decision,
        });
      },
      until: async (what, check) => {
        const deadline = Date.now() + 30_000;
        while (!(await check())) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
      startSync: () =>
        client.workflow.start<typeof mailboxSync>('mailboxSync', {
          workflowId: syncScheduleId(TASK_QUEUE),
          taskQueue: TASK_QUEUE,
          args: [],
        }),
    };
    const dir = path.join(HISTORIES_DIR, set);
    mkdirSync(dir, { recursive: true });
    await worker.runUntil(async () => {
      for (const [name, scenario] of Object.entries(SCENARIOS)) {
        if (only.length > 0 && !only.includes(name)) continue;
        const handles = await scenario(recorder);
        for (const handle of handles) {
          const runs = await runsOf(handle);
          runs.forEach(({ json }, i) => {
            const isTask = handle.workflowId.startsWith('remote-completion/');
            const kind = handles.length > 1 && !isTask ? '.parent' : '';
            const run = runs.length > 1 ? `.run${i + 1}` : '';
            const file = path.join(dir, `${name}${kind}${run}.json`);
            writeFileSync(file, `${json}\n`);
            process.stdout.write(`${path.relative(repoRoot(), file)}\n`);
          });
        }
      }
    });
  } finally {
    await env.teardown();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
