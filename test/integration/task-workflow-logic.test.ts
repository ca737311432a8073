/**
 * The task workflow's timing and message rules, on the test stack's Temporal with the mail
 * activities replaced by fakes the test controls: no mail server, short real durations.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { connectTemporal } from '../../client/connect';
import type { RemoteCompletionClient } from '../../client/task-client';
import type { WorkerHandle } from '../../worker/run-worker';
import {
  decideUpdate,
  emailDecisionSignal,
  reassignUpdate,
  stateQuery,
  taskWorkflowId,
  type EmailDecision,
  type TaskInput,
} from '../../workflows/definitions';
import { ASSIGNEES, STATUS } from '../../workflows/search-attributes';
import type { remoteCompletionTask } from '../../workflows/task';
import {
  eventually,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
  workflowBundle,
} from '../helpers/env';
import { temporalCliPath } from '../helpers/temporal-cli';
import { FakeTaskMail, Gate, type MailEvent } from '../helpers/fake-task-mail';

const config = testConfig(triggeredSyncsOnly);
const log = testLogger('task-workflow-logic');
const mail = new FakeTaskMail();
const startFakeWorker = () =>
  startWorker(config, log, { wrapActivities: (real) => ({ ...real, ...mail.activities() }) });
let worker: WorkerHandle;
let tasks: RemoteCompletionClient;
let client: Client;
let closeConnection: () => Promise<void>;

before(async () => {
  worker = await startFakeWorker();
  tasks = await taskClient(config);
  const connected = await connectTemporal(config.temporal);
  client = connected.client;
  closeConnection = () => connected.connection.close();
});
after(async () => {
  await worker.shutdown();
  await closeConnection();
});

type TaskHandle = WorkflowHandle<typeof remoteCompletionTask>;

async function start(input: Partial<TaskInput> = {}): Promise<{ taskId: string; handle: TaskHandle }> {
  const taskId = unique('logic');
  const handle = await client.workflow.start<typeof remoteCompletionTask>('remoteCompletionTask', {
    workflowId: taskWorkflowId(taskId),
    taskQueue: config.temporal.taskQueue,
    args: [{ taskId, title: `Logic ${taskId}`, assignees: [{ address: 'alice@example.test' }], ...input }],
  });
  return { taskId, handle };
}

/** What the mailbox sync would signal for a verified reply to a request of `handle`'s task. */
async function emailDecision(
  handle: TaskHandle,
  decision: Partial<EmailDecision> & Pick<EmailDecision, 'messageId'>,
): Promise<void> {
  const { firstRunId } = (await handle.describe()).raw.workflowExecutionInfo!;
  await handle.signal(emailDecisionSignal, {
    action: 'complete',
    runId: firstRunId!,
    sender: 'alice@example.test',
    comment: '',
    receivedAt: new Date().toISOString(),
    ...decision,
  });
}

const ofKind = <K extends MailEvent['kind']>(events: MailEvent[], kind: K) =>
  events.filter((e): e is Extract<MailEvent, { kind: K }> => e.kind === kind);

const waitForEvent = (what: string, match: (e: MailEvent) => boolean) =>
  eventually(what, () => Promise.resolve(mail.events.find(match)));

describe('task workflow timing rules (fake mail activities)', () => {
  test('a task with a timeout and no decision times out and confirms to whoever got a request', async () => {
    const { taskId, handle } = await start({ timeout: 1000 });
    const result = await tasks.waitForResult(taskId, 15_000);
    assert.equal(result.outcome, 'timed-out');
    assert.deepEqual(
      mail.of(handle.workflowId).map((e) => e.kind),
      ['check', 'request', 'request-sent', 'confirmation'],
    );
  });

  test('reminders go out while the task waits, each with its own request key, none after it closed', async () => {
    const { taskId, handle } = await start({ reminderEvery: 300, timeout: 3000 });
    await eventually('two reminders', () =>
      Promise.resolve(ofKind(mail.of(handle.workflowId), 'request').filter((e) => e.reminder).length >= 2),
    );
    const result = await tasks.complete(taskId, { by: 'ops' });
    assert.equal(result.outcome, 'completed');
    await tasks.waitForResult(taskId, 15_000);
    const events = mail.of(handle.workflowId);
    const keys = ofKind(events, 'request').map((e) => e.requestKey);
    assert.equal(new Set(keys).size, keys.length, `distinct request keys: ${keys.join(' ')}`);
    assert.equal(events.at(-1)?.kind, 'confirmation', 'the confirmation is the last mail');
    assert.ok((await tasks.getState(taskId)).assignees[0]!.remindersSent >= 2);
  });

  test('reassign mails the new assignee only; the removed one can no longer decide', async () => {
    const { taskId, handle } = await start({
      assignees: [{ address: 'alice@example.test' }, { address: 'carol@example.test' }],
    });
    await eventually('waiting', async () => (await tasks.getState(taskId)).status === 'waiting');
    const state = await tasks.reassign(taskId, 'carol@example.test, dave@example.test');
    assert.deepEqual(
      state.assignees.map((a) => a.address),
      ['carol@example.test', 'dave@example.test'],
    );
    await waitForEvent(
      'a request to dave',
      (e) => e.workflowId === handle.workflowId && e.kind === 'request-sent' && e.to === 'dave@example.test',
    );
    await emailDecision(handle, { messageId: '<alice@x>', sender: 'alice@example.test' });
    await emailDecision(handle, { messageId: '<dave@x>', sender: 'dave@example.test', action: 'fail' });
    const result = await tasks.waitForResult(taskId, 15_000);
    assert.deepEqual([result.outcome, result.decidedBy], ['failed', 'dave@example.test']);
    const requests = ofKind(mail.of(handle.workflowId), 'request').map((e) => e.to);
    assert.deepEqual(requests, ['alice@example.test', 'carol@example.test', 'dave@example.test']);
    assert.deepEqual(
      (await tasks.getState(taskId)).ignored.map((i) => [i.by, i.reason]),
      [['alice@example.test', 'not-assigned']],
    );
  });

  test('a repeated reply is ignored as duplicate, before anything else', async () => {
    const { taskId, handle } = await start();
    await emailDecision(handle, { messageId: '<one@x>', sender: 'bob@other.test' });
    await emailDecision(handle, { messageId: '<one@x>', sender: 'alice@example.test' });
    await emailDecision(handle, { messageId: '<two@x>' });
    const result = await tasks.waitForResult(taskId, 15_000);
    assert.equal(result.decidedBy, 'alice@example.test');
    const state = await tasks.getState(taskId);
    assert.deepEqual(
      state.ignored.map((i) => i.reason),
      ['not-assigned', 'duplicate'],
    );
    assert.equal(state.ignoredCount, 2);
  });

  test("an email decision during a reassign's address check wins; the reassign is refused and mails nobody", async () => {
    const { taskId, handle } = await start();
    await eventually('waiting', async () => (await tasks.getState(taskId)).status === 'waiting');
    const checking = new Gate();
    mail.hold(
      (e) =>
        e.kind === 'check' && e.workflowId === handle.workflowId && e.addresses.includes('dave@example.test'),
      checking,
    );
    const reassign = tasks.reassign(taskId, 'dave@example.test');
    await waitForEvent(
      'the reassign check',
      (e) =>
        e.workflowId === handle.workflowId && e.kind === 'check' && e.addresses.includes('dave@example.test'),
    );
    await emailDecision(handle, { messageId: '<during-check@x>' });
    await eventually('decided', async () => (await tasks.getState(taskId)).result !== undefined);
    checking.open();
    await assert.rejects(reassign, /task .* is already completed/);
    const result = await tasks.waitForResult(taskId, 15_000);
    assert.deepEqual([result.outcome, result.channel], ['completed', 'email']);
    const events = mail.of(handle.workflowId);
    assert.ok(!events.some((e) => 'to' in e && e.to === 'dave@example.test'), JSON.stringify(events));
    assert.deepEqual(
      (await tasks.getState(taskId)).assignees.map((a) => a.address),
      ['alice@example.test'],
    );
  });

  test('cancel during a send waits for it, then confirms to the assignee it reached', async () => {
    const sending = new Gate();
    const { taskId, handle } = await start();
    mail.hold((e) => e.kind === 'request' && e.workflowId === handle.workflowId, sending);
    await waitForEvent(
      'the request under way',
      (e) => e.workflowId === handle.workflowId && e.kind === 'request',
    );
    await tasks.cancel(taskId);
    sending.open();
    const result = await tasks.waitForResult(taskId, 15_000);
    assert.equal(result.outcome, 'cancelled');
    await eventually('the confirmation', () =>
      Promise.resolve(mail.of(handle.workflowId).some((e) => e.kind === 'confirmation')),
    );
    assert.deepEqual(
      mail.of(handle.workflowId).map((e) => e.kind),
      ['check', 'request', 'request-sent', 'confirmation'],
      'the confirmation comes after the request ended',
    );
    const state = await tasks.getState(taskId);
    assert.deepEqual([state.status, state.assignees[0]!.delivery], ['cancelled', 'sent']);
  });

  test('a decision and a reassign that reach the workflow in the same workflow task: the decision wins', async () => {
    const { taskId, handle } = await start();
    await eventually('waiting', async () => (await tasks.getState(taskId)).status === 'waiting');
    await worker.shutdown();
    try {
      // With no worker, both wait on the server for the same workflow task.
      await emailDecision(handle, { messageId: '<same-task@x>' });
      const updateId = unique('reassign');
      const reassign = handle.executeUpdate(reassignUpdate, {
        args: [[{ address: 'dave@example.test' }]],
        updateId,
      });
      await eventually('the update admitted', () => updateAdmitted(handle, updateId));
      worker = await startFakeWorker();
      await assert.rejects(reassign, (err: Error) => {
        assert.match(String((err.cause as Error | undefined)?.message), /task .* is already completed/);
        return true;
      });
    } finally {
      if (worker.worker.getState() !== 'RUNNING') worker = await startFakeWorker();
    }
    const result = await tasks.waitForResult(taskId, 15_000);
    assert.deepEqual([result.outcome, result.channel], ['completed', 'email']);
    assert.ok(!mail.of(handle.workflowId).some((e) => 'to' in e && e.to === 'dave@example.test'));
  });

  test('a task continues as new after N reminder rounds and keeps its requests, run id and dedupe', async () => {
    const { taskId, handle } = await start({ reminderEvery: 200, continueAsNewAfterReminders: 2 });
    const { runId: firstRunId } = await handle.describe();
    await emailDecision(handle, { messageId: '<before@x>', sender: 'bob@other.test' });
    await eventually('a third run', async () => (await tasks.getState(taskId)).runs >= 3);
    const { runId: currentRunId } = await handle.describe();
    assert.notEqual(currentRunId, firstRunId, 'the workflow id now names a later run');
    await emailDecision(handle, { messageId: '<before@x>' });
    await emailDecision(handle, { messageId: '<after@x>', comment: 'from the first request' });
    const result = await tasks.waitForResult(taskId, 15_000);
    assert.deepEqual([result.outcome, result.decidedBy], ['completed', 'alice@example.test']);
    const state = await tasks.getState(taskId);
    assert.deepEqual(
      state.ignored.map((i) => i.reason),
      ['not-assigned', 'duplicate'],
      'the Message-ID seen in the first run is still known',
    );
    const requests = ofKind(mail.of(handle.workflowId), 'request');
    assert.ok(
      requests.every((r) => r.runId === firstRunId),
      'every request is bound to the first run',
    );
    const keys = requests.map((r) => r.requestKey);
    assert.equal(new Set(keys).size, keys.length, `distinct request keys across runs: ${keys.join(' ')}`);
    const listed = await eventually('the task listed once as completed', async () => {
      const found = (await tasks.list({ status: 'completed' })).filter((t) => t.taskId === taskId);
      return found.length > 0 && found;
    });
    assert.equal(listed.length, 1);
  });
});

describe('task workflow on a server that suggests continue-as-new early', () => {
  test('the task continues as new when Temporal suggests it, and keeps waiting for its decision', async () => {
    // A throw-away dev server of its own: the suggestion comes after 40 events instead of 4 Ki.
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath() },
        searchAttributes: [STATUS, ASSIGNEES],
        extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40'],
      },
    });
    try {
      const taskQueue = unique('suggested');
      const fake = new FakeTaskMail();
      const suggestedWorker = await Worker.create({
        connection: env.nativeConnection,
        namespace: env.namespace,
        taskQueue,
        workflowBundle,
        activities: fake.activities(),
      });
      await suggestedWorker.runUntil(async () => {
        const taskId = unique('suggested');
        const handle = await env.client.workflow.start<typeof remoteCompletionTask>('remoteCompletionTask', {
          workflowId: taskWorkflowId(taskId),
          taskQueue,
          args: [
            {
              taskId,
              title: 'Long wait',
              assignees: [{ address: 'alice@example.test' }],
              reminderEvery: 200,
              continueAsNewAfterReminders: 1000,
            },
          ],
        });
        await eventually('a second run', async () => (await handle.query(stateQuery)).runs >= 2, 30_000);
        const result = await handle.executeUpdate(decideUpdate, {
          args: [{ action: 'complete', by: 'ops' }],
        });
        assert.equal(result.outcome, 'completed');
        assert.equal((await handle.result()).decidedBy, 'ops');
      });
    } finally {
      await env.teardown();
    }
  });
});

async function updateAdmitted(handle: TaskHandle, updateId: string): Promise<boolean> {
  try {
    await handle.client.workflowService.pollWorkflowExecutionUpdate({
      namespace: config.temporal.namespace,
      updateRef: { workflowExecution: { workflowId: handle.workflowId }, updateId },
      waitPolicy: {
        lifecycleStage:
          temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage
            .UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED,
      },
      identity: 'task-workflow-logic test',
    });
    return true;
  } catch {
    return false;
  }
}
