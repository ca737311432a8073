/**
 * `npm run record-histories -- <set> [scenario...]`: runs typical task workflows on a throw-away
 * Temporal dev server (the mail activities are fakes: no mail stack needed) and saves each run's
 * history as JSON in test/fixtures/histories/<set>/, where test/unit/task-replay.test.ts replays
 * them. Add a scenario to SCENARIOS to record a new kind of run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { repoRoot } from '../../dev/stack';
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
import type { remoteCompletionTask } from '../../workflows/task';
import { FakeTaskMail, Gate, type MailEvent } from '../helpers/fake-task-mail';
import { temporalCliPath } from '../helpers/temporal-cli';

const TASK_QUEUE = 'record-histories';
export const HISTORIES_DIR = path.join(repoRoot(), 'test', 'fixtures', 'histories');

type TaskHandle = WorkflowHandle<typeof remoteCompletionTask>;

interface Recorder {
  client: Client;
  mail: FakeTaskMail;
  /** Starts a task for alice unless the input says otherwise. */
  startTask(name: string, input?: Partial<TaskInput>): Promise<TaskHandle>;
  /** Signals a decision as the mailbox sync does for a verified reply. */
  reply(
    handle: TaskHandle,
    decision: Partial<EmailDecision> & Pick<EmailDecision, 'messageId'>,
  ): Promise<void>;
  until(what: string, check: () => boolean | Promise<boolean>): Promise<void>;
}

/** One kind of run; returns the workflows whose histories to keep (every run of each). */
type Scenario = (r: Recorder) => Promise<WorkflowHandle[]>;

const requestSent = (r: Recorder, handle: WorkflowHandle, to = 'alice@example.test') =>
  r.until(`a request to ${to}`, () =>
    r.mail.of(handle.workflowId).some((e) => e.kind === 'request-sent' && e.to === to),
  );

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
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: { code: await bundleWorkflows(require.resolve('../../dev/workflows')) },
      activities: mail.activities(),
    });
    const { client } = env;
    const recorder: Recorder = {
      client,
      mail,
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
        const { raw } = await handle.describe();
        await handle.signal(emailDecisionSignal, {
          action: 'complete',
          runId: raw.workflowExecutionInfo!.firstRunId!,
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
    };
    const dir = path.join(HISTORIES_DIR, set);
    mkdirSync(dir, { recursive: true });
    await worker.runUntil(async () => {
      for (const [name, scenario] of Object.entries(SCENARIOS)) {
        if (only.length > 0 && !only.includes(name)) continue;
        for (const handle of await scenario(recorder)) {
          const runs = await runsOf(handle);
          runs.forEach(({ json }, i) => {
            const kind = handle.workflowId.startsWith('remote-completion/') ? '' : '.parent';
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
