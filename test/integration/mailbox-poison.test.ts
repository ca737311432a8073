import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectTemporal } from '../../client/connect';
import type { WorkerHandle } from '../../worker/run-worker';
import { taskWorkflowId } from '../../workflows/definitions';
import {
  clearInbox,
  COMPLETION,
  eventually,
  inboxCount,
  logLines,
  sendAs,
  startAndComplete,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
} from '../helpers/env';
import { outcomeOf, syncAndWait } from '../helpers/sync-runs';
import type { Client } from '@temporalio/client';

const LOG = 'mailbox-poison';
const config = testConfig((c) => {
  triggeredSyncsOnly(c);
  c.imap.maxMessageBytes = 2_000_000;
  c.imap.messageBudget = 2000;
});
let worker: WorkerHandle;
let temporal: Client;
let closeConnection: () => Promise<void>;

before(async () => {
  await clearInbox(config, COMPLETION);
  worker = await startWorker(config, testLogger(LOG));
  const { client, connection } = await connectTemporal(config.temporal);
  temporal = client;
  closeConnection = () => connection.close();
});
after(async () => {
  await worker.shutdown();
  await closeConnection();
});

test('the poison HTML-only mail (<a + 1 MB of letters) is read in linear time and rejected; the reply behind it decides its task in the same sync', async () => {
  const poisonId = `<${unique('poison')}@example.test>`;
  // `<a` and 1 MB of letters, no closing bracket: it stalled the sync when the tag scan was quadratic.
  await sendAs(config, 'carol@example.test', {
    to: COMPLETION,
    subject: 'hello',
    html: `<a${'x'.repeat(1_000_000)}`,
    messageId: poisonId,
  });
  await eventually('the poison mail in INBOX', async () => (await inboxCount(config, COMPLETION)) === 1);
  const replyId = `<${unique('reply')}@example.test>`;
  const tasks = await taskClient(config);
  const taskId = await startAndComplete(config, tasks, 'Behind the poison', 'still works', {
    messageId: replyId,
  });
  await eventually('the reply in INBOX', async () => (await inboxCount(config, COMPLETION)) === 2);

  const summary = await syncAndWait(temporal, config.temporal.taskQueue);
  const [poison, reply] = [outcomeOf(summary, poisonId), outcomeOf(summary, replyId)];
  assert.equal(poison?.code, 'no-token');
  assert.deepEqual([reply?.code, reply?.workflowId], ['signalled', taskWorkflowId(taskId)]);
  assert.equal(await inboxCount(config, COMPLETION), 0, 'both removed');
  const result = await tasks.waitForResult(taskId, 10_000);
  assert.deepEqual([result.outcome, result.comment], ['completed', 'still works']);
  await eventually('the rejection in the log', () =>
    Promise.resolve(
      logLines(LOG, { msg: 'mail rejected', outcome: 'no-token', messageId: poisonId }).length === 1,
    ),
  );
});
