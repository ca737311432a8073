import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { connectTemporal } from '../../client/connect';
import type { RemoteCompletionClient } from '../../client/task-client';
import { mailtoLinks, replyFromLink } from '../../dev/mail-client';
import { findTokens, keyring, verifyToken } from '../../domain/token';
import type { WorkerHandle } from '../../worker/run-worker';
import { triggerSync } from '../../worker/sync-schedule';
import { taskWorkflowId } from '../../workflows/definitions';
import type { remoteCompletionTask } from '../../workflows/task';
import {
  clearInbox,
  COMPLETION,
  eventually,
  sendAs,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
  waitForMail,
} from '../helpers/env';

const config = testConfig(triggeredSyncsOnly);
let worker: WorkerHandle;
let tasks: RemoteCompletionClient;
let client: Client;
let closeConnection: () => Promise<void>;

before(async () => {
  await clearInbox(config, COMPLETION);
  worker = await startWorker(config, testLogger('task-continue-as-new'));
  tasks = await taskClient(config);
  const connected = await connectTemporal(config.temporal);
  client = connected.client;
  closeConnection = () => connected.connection.close();
});
after(async () => {
  await worker.shutdown();
  await closeConnection();
});

test('a reply to a request sent before the task continued as new decides it, through the mailbox sync', async () => {
  const taskId = unique('long-lived');
  const handle = await client.workflow.start<typeof remoteCompletionTask>('remoteCompletionTask', {
    workflowId: taskWorkflowId(taskId),
    taskQueue: config.temporal.taskQueue,
    args: [
      {
        taskId,
        title: 'Approve when ready',
        assignees: [{ address: 'alice@example.test' }],
        reminderEvery: 1000,
        continueAsNewAfterReminders: 2,
      },
    ],
  });
  const firstRunId = handle.firstExecutionRunId;
  const [request] = await waitForMail(
    config,
    'alice@example.test',
    (m) => (m.subject ?? '').startsWith('Action required') && (m.text ?? '').includes(taskId),
  );
  const [token] = findTokens(request!.parsed.text ?? '');
  const claims = verifyToken(token!, keyring(config.signature.secrets), Date.now());
  assert.ok(claims.ok);
  assert.equal(claims.claims.runId, firstRunId, 'the request is bound to the first run');

  // More reminder rounds than the threshold: the task has continued as new at least once.
  await eventually(
    'the task in a later run, past the threshold',
    async () => {
      const state = await tasks.getState(taskId);
      return state.runs >= 2 && state.assignees[0]!.remindersSent > 2;
    },
    30_000,
  );
  const { runId: currentRunId } = await handle.describe();
  assert.notEqual(currentRunId, firstRunId);

  await sendAs(
    config,
    'alice@example.test',
    replyFromLink(mailtoLinks(request!.parsed.html || '')[0]!, 'Ready.\n'),
  );
  await eventually(
    'the reply in the completion mailbox',
    async () => {
      await triggerSync(client, config.temporal.taskQueue);
      return (await tasks.getState(taskId)).result;
    },
    30_000,
  );

  const result = await tasks.waitForResult(taskId, 15_000);
  assert.deepEqual(
    [result.outcome, result.decidedBy, result.channel, result.comment],
    ['completed', 'alice@example.test', 'email', 'Ready.'],
  );
  const state = await tasks.getState(taskId);
  assert.equal(state.status, 'completed');
  assert.ok(state.runs >= 2);
  const listed = await eventually('the task listed once as completed', async () => {
    const found = (await tasks.list({ status: 'completed', assignee: 'alice@example.test' })).filter(
      (t) => t.taskId === taskId,
    );
    return found.length > 0 && found;
  });
  assert.equal(listed.length, 1, 'the closed earlier runs are not listed');
  assert.equal(listed[0]!.title, 'Approve when ready');
  await waitForMail(
    config,
    'alice@example.test',
    (m) => (m.subject ?? '').startsWith('Completed') && (m.text ?? '').includes(taskId),
  );
});
