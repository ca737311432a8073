import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { ParsedMail } from 'mailparser';
import { connectTemporal } from '../../client/connect';
import type { RemoteCompletionClient } from '../../client/task-client';
import { mailtoLinks, replyFromLink } from '../../dev/mail-client';
import type { WorkerHandle } from '../../worker/run-worker';
import { triggerSync } from '../../worker/sync-schedule';
import { taskWorkflowId, type TaskState } from '../../workflows/definitions';
import {
  clearInbox,
  COMPLETION,
  eventually,
  inboxCount,
  logLines,
  sendAs,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
  waitForMail,
  writeConfigFile,
} from '../helpers/env';
import { runCli } from '../helpers/cli';

const LOG = 'teams';
const ALICE = 'alice@example.test';
const CAROL = 'carol@example.test';
const BOB = 'bob@other.test';
// Syncs run when a test triggers them; requests come from a sender with a display name.
const config = testConfig((c) => {
  triggeredSyncsOnly(c);
  c.smtp.from = { name: 'Release Bot', address: COMPLETION };
  c.teams = {
    'release-managers': [{ address: ALICE }, { address: CAROL, name: 'Carol' }],
    ops: [{ address: CAROL }, { address: BOB, name: 'Bob' }],
  };
});
const configFile = writeConfigFile(config);
let worker: WorkerHandle;
let tasks: RemoteCompletionClient;
let temporal: Client;
let closeConnection: () => Promise<void>;

before(async () => {
  await clearInbox(config, COMPLETION);
  worker = await startWorker(config, testLogger(LOG));
  tasks = await taskClient(config);
  const { client, connection } = await connectTemporal(config.temporal);
  temporal = client;
  closeConnection = () => connection.close();
});
after(async () => {
  await worker.shutdown();
  await closeConnection();
});

const cli = (...args: string[]) => runCli(configFile, ...args);

const requestFor = (taskId: string) => (mail: ParsedMail) =>
  (mail.subject ?? '').startsWith('Action required') && (mail.text ?? '').includes(taskId);

/** Sends a reply, runs a sync and waits until the completion INBOX is empty again. */
async function deliver(from: string, reply: ReturnType<typeof replyFromLink>): Promise<string> {
  const messageId = `<${unique('team-reply')}@example.test>`;
  await sendAs(config, from, { ...reply, messageId });
  await eventually('the reply in INBOX', async () => (await inboxCount(config, COMPLETION)) > 0);
  await triggerSync(temporal, config.temporal.taskQueue);
  await eventually('the sync to empty INBOX', async () => (await inboxCount(config, COMPLETION)) === 0);
  return messageId;
}

test('task start --to team:NAME mails every member; one member decides, the other is ignored', async () => {
  const taskId = unique('team');
  const started = await cli(
    'task',
    'start',
    '--to',
    'team:release-managers',
    '--title',
    'Ship it?',
    '--id',
    taskId,
  );
  assert.equal(started.code, 0, started.stderr);

  // Every member gets a request of their own, from the configured display name.
  const requests = new Map<string, ParsedMail>();
  for (const member of [ALICE, CAROL]) {
    const [request] = await waitForMail(config, member, requestFor(taskId));
    assert.deepEqual(request!.parsed.from?.value, [{ address: COMPLETION, name: 'Release Bot' }]);
    requests.set(member, request!.parsed);
  }

  // The task state, `task show` and the Temporal UI name the team and its members.
  const state = JSON.parse((await cli('task', 'show', taskId, '--json')).stdout) as TaskState;
  assert.deepEqual(state.teams, [{ name: 'release-managers', members: [ALICE, CAROL] }]);
  assert.deepEqual(
    state.assignees.map((a) => [a.address, a.name, a.teams]),
    [
      [ALICE, undefined, ['release-managers']],
      [CAROL, 'Carol', ['release-managers']],
    ],
  );
  assert.match(
    (await cli('task', 'show', taskId)).stdout,
    /^team release-managers: alice@example\.test, carol@example\.test$/m,
  );
  const handle = temporal.workflow.getHandle(taskWorkflowId(taskId));
  const description = await handle.describe();
  assert.deepEqual(description.memo?.teams, [{ name: 'release-managers', members: [ALICE, CAROL] }]);
  assert.equal(
    await description.staticSummary(),
    'Ship it? (team release-managers: alice@example.test, carol@example.test)',
  );
  const details = await eventually('the current details with the deliveries', async () => {
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return metadata.currentDetails?.startsWith('**waiting**') && metadata.currentDetails;
  });
  assert.equal(
    details,
    '**waiting**: team release-managers: alice@example.test (sent), carol@example.test (sent)',
  );

  // Alice answers by email: the task completes.
  const aliceReply = await deliver(
    ALICE,
    replyFromLink(mailtoLinks(requests.get(ALICE)!.html || '')[0]!, 'Alice: go.\n'),
  );
  const result = await tasks.waitForResult(taskId, 15_000);
  assert.deepEqual(
    [result.outcome, result.decidedBy, result.channel, result.comment],
    ['completed', ALICE, 'email', 'Alice: go.'],
  );
  await eventually(
    "alice's reply logged as the decision",
    () => Promise.resolve(logLines(LOG, { outcome: 'completed', messageId: aliceReply }).length > 0),
    10_000,
  );

  // Carol's later answer changes nothing: the task is closed.
  const carolReply = await deliver(
    CAROL,
    replyFromLink(mailtoLinks(requests.get(CAROL)!.html || '')[1]!, 'Carol: no!\n'),
  );
  await eventually(
    "carol's reply logged as task-closed",
    () => Promise.resolve(logLines(LOG, { outcome: 'task-closed', messageId: carolReply }).length > 0),
    10_000,
  );
  const final = await tasks.getState(taskId);
  assert.deepEqual([final.status, final.result?.decidedBy], ['completed', ALICE]);
  // Both members are told how it ended.
  for (const member of [ALICE, CAROL]) {
    await waitForMail(
      config,
      member,
      (m) => (m.subject ?? '').startsWith('Completed') && (m.text ?? '').includes(taskId),
    );
  }
});

test('an unknown team is one clear error and starts nothing', async () => {
  const taskId = unique('no-team');
  const run = await cli(
    'task',
    'start',
    '--to',
    'alice@example.test,team:nobody',
    '--title',
    'x',
    '--id',
    taskId,
  );
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr.trim(),
    'error: unknown team "nobody": the configuration defines release-managers, ops',
  );
  await assert.rejects(tasks.getState(taskId), /no task with id/);
});

test('the client API mixes teams and addresses; a reassign resolves teams again', async () => {
  const taskId = unique('team-api');
  await tasks.start({ taskId, title: 'Mixed', assignees: ['team:ops', 'alice@example.test'] });
  const started = await eventually('the first requests sent', async () => {
    const state = await tasks.getState(taskId);
    return state.status === 'waiting' && state;
  });
  assert.deepEqual(started.teams, [{ name: 'ops', members: [CAROL, BOB] }]);
  assert.deepEqual(
    started.assignees.map((a) => [a.address, a.teams]),
    [
      [CAROL, ['ops']],
      [BOB, ['ops']],
      [ALICE, undefined],
    ],
  );

  const reassigned = await tasks.reassign(taskId, 'team:release-managers');
  assert.deepEqual(reassigned.teams, [{ name: 'release-managers', members: [ALICE, CAROL] }]);
  assert.deepEqual(
    reassigned.assignees.map((a) => [a.address, a.delivery, a.teams]),
    [
      [ALICE, 'sent', ['release-managers']],
      [CAROL, 'sent', ['release-managers']],
    ],
  );
  const description = await temporal.workflow.getHandle(taskWorkflowId(taskId)).describe();
  assert.deepEqual(description.memo?.teams, [{ name: 'release-managers', members: [ALICE, CAROL] }]);
  assert.equal(description.memo?.title, 'Mixed', 'the rest of the memo stays');
  await assert.rejects(tasks.reassign(taskId, 'team:nobody'), /unknown team "nobody"/);
  await tasks.cancel(taskId);
});
