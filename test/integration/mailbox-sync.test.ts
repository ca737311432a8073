import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { SendMailOptions } from 'nodemailer';
import type { RemoteCompletionClient } from '../../client/task-client';
import { connectTemporal } from '../../client/connect';
import { keyring, signToken } from '../../domain/token';
import { mailtoLinks, replyFromLink } from '../../dev/mail-client';
import type { WorkerHandle } from '../../worker/run-worker';
import type { MessageOutcome } from '../../workflows/mailbox-sync';
import { taskWorkflowId, type TaskState } from '../../workflows/definitions';
import type { remoteCompletionTask } from '../../workflows/task';
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
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
} from '../helpers/env';
import { outcomeOf, syncAndWait } from '../helpers/sync-runs';

const LOG = 'mailbox-sync';
// Syncs run only when a test triggers them; whitelisting on, so bob@other.test is refused.
const config = testConfig((c) => {
  triggeredSyncsOnly(c);
  c.imap.maxMessageBytes = 200_000;
  c.whitelist = { enabled: true, domains: ['example.test'] };
});
const keys = keyring(config.signature.secrets);
let worker: WorkerHandle;
let tasks: RemoteCompletionClient;
let temporal: Client;
let closeConnection: () => Promise<void>;
const runIdOf = async (taskId: string) =>
  (await temporal.workflow.getHandle(taskWorkflowId(taskId)).describe()).runId;

before(async () => {
  await clearInbox(config, COMPLETION);
  worker = await startWorker(config, testLogger(LOG));
  tasks = await taskClient(config);
  const { client, connection } = await connectTemporal(config.temporal);
  closeConnection = () => connection.close();
  temporal = client;
});
after(async () => {
  await worker.shutdown();
  await closeConnection();
});
beforeEach(() => clearInbox(config, COMPLETION));

interface Request {
  complete: string;
  fail: string;
  text: string;
  html: string;
  messageId: string;
}

async function startTask(
  assignees: string,
  title = 'Approve the deploy',
): Promise<{ taskId: string; requests: Map<string, Request> }> {
  const taskId = unique('mail');
  await tasks.start({ taskId, title, assignees });
  const requests = new Map<string, Request>();
  for (const address of assignees.split(',').map((a) => a.trim())) {
    const [mail] = await waitForMail(
      config,
      address,
      (m) => (m.subject ?? '').startsWith('Action required') && (m.text ?? '').includes(taskId),
    );
    const [complete, fail] = mailtoLinks(mail!.parsed.html || '');
    requests.set(address, {
      complete: complete!,
      fail: fail!,
      text: mail!.parsed.text ?? '',
      html: mail!.parsed.html || '',
      messageId: mail!.parsed.messageId ?? '',
    });
  }
  return { taskId, requests };
}

/** Delivers mail to the completion mailbox, runs a sync, and returns what the sync did with it. */
async function deliver(from: string, message: SendMailOptions): Promise<MessageOutcome> {
  const messageId = message.messageId ?? `<${unique('reply')}@${from.split('@')[1]}>`;
  await sendAs(config, from, { to: COMPLETION, ...message, messageId });
  await eventually('the reply to reach INBOX', async () => (await inboxCount(config, COMPLETION)) > 0);
  const summary = await syncAndWait(temporal, config.temporal.taskQueue);
  assert.equal(await inboxCount(config, COMPLETION), 0, 'the sync removed it');
  const outcome = outcomeOf(summary, messageId);
  assert.ok(outcome, `the sync's result lists ${messageId}: ${JSON.stringify(summary.outcomes)}`);
  return outcome;
}

/** Operators read outcomes in the log: the line is there too. */
async function expectLogLine(outcome: string, messageId: string): Promise<void> {
  await eventually(
    `a log line with outcome ${outcome} for ${messageId}`,
    () => Promise.resolve(logLines(LOG, { outcome, messageId }).length > 0),
    10_000,
  );
}

async function settledState(taskId: string, predicate: (s: TaskState) => boolean): Promise<TaskState> {
  return eventually(`task ${taskId} state`, async () => {
    const state = await tasks.getState(taskId);
    return predicate(state) && state;
  });
}

describe('mailbox sync: the full loop by email', () => {
  test('complete with a comment', async () => {
    const { taskId, requests } = await startTask('alice@example.test');
    const outcome = await deliver(
      'alice@example.test',
      replyFromLink(requests.get('alice@example.test')!.complete, 'Backup checked.\nGo ahead.\n'),
    );
    assert.deepEqual([outcome.code, outcome.workflowId], ['signalled', taskWorkflowId(taskId)]);
    const result = await tasks.waitForResult(taskId, 10_000);
    assert.deepEqual(
      [result.outcome, result.decidedBy, result.channel, result.comment],
      ['completed', 'alice@example.test', 'email', 'Backup checked.\nGo ahead.'],
    );
    await expectLogLine('completed', outcome.messageId!);
  });

  test('fail with a comment', async () => {
    const { taskId, requests } = await startTask('alice@example.test');
    const outcome = await deliver(
      'alice@example.test',
      replyFromLink(requests.get('alice@example.test')!.fail, 'The backup is missing.\n'),
    );
    assert.equal(outcome.code, 'signalled');
    const result = await tasks.waitForResult(taskId, 10_000);
    assert.deepEqual([result.outcome, result.comment], ['failed', 'The backup is missing.']);
  });

  test('an rc1 token (a request sent before the compact format) still decides a waiting task', async () => {
    const { taskId, requests } = await startTask('alice@example.test');
    assert.match(requests.get('alice@example.test')!.complete, /%5Brc2\./, 'new requests carry rc2 tokens');
    const rc1 = signToken(
      {
        workflowId: taskWorkflowId(taskId),
        runId: await runIdOf(taskId),
        action: 'fail',
        recipient: 'alice@example.test',
        expiresAt: Date.now() + 3_600_000,
      },
      keys,
      'rc1',
    );
    assert.ok(rc1.startsWith('rc1.'));
    const outcome = await deliver('alice@example.test', {
      subject: `Fail task: Approve the deploy [${rc1}]`,
      text: 'Old request, still valid.\n',
    });
    assert.equal(outcome.code, 'signalled');
    const result = await tasks.waitForResult(taskId, 10_000);
    assert.deepEqual(
      [result.outcome, result.decidedBy, result.comment],
      ['failed', 'alice@example.test', 'Old request, still valid.'],
    );
  });

  test('a team task is decided by the second assignee', async () => {
    const { taskId, requests } = await startTask('alice@example.test, carol@example.test');
    await deliver(
      'carol@example.test',
      replyFromLink(requests.get('carol@example.test')!.complete, 'Carol here: fine.\n'),
    );
    const result = await tasks.waitForResult(taskId, 10_000);
    assert.deepEqual([result.outcome, result.decidedBy], ['completed', 'carol@example.test']);
    await waitForMail(
      config,
      'alice@example.test',
      (m) => (m.subject ?? '').startsWith('Completed') && (m.text ?? '').includes(taskId),
    );
  });

  test('a reply quoting the request is decided by the link the sender used', async () => {
    const { taskId, requests } = await startTask('alice@example.test');
    const request = requests.get('alice@example.test')!;
    const reply = replyFromLink(request.fail, 'No, not today.\n');
    const quoted = request.text
      .split('\n')
      .map((line) => `> ${line}`)
      .join('\n');
    await deliver('alice@example.test', {
      ...reply,
      text: `${reply.text}\n\nOn Tue, 24 Nov 2026, completion@example.test wrote:\n${quoted}\n`,
    });
    const result = await tasks.waitForResult(taskId, 10_000);
    assert.deepEqual([result.outcome, result.comment], ['failed', 'No, not today.']);
  });

  test('an HTML-only reply works', async () => {
    const { taskId, requests } = await startTask('alice@example.test');
    const reply = replyFromLink(requests.get('alice@example.test')!.complete, '');
    const body = reply.text.replace(/\r?\n/g, '<br>');
    await deliver('alice@example.test', {
      to: reply.to,
      subject: reply.subject,
      html: `<div dir="ltr">Approved from my phone.<br>${body}</div>`,
    });
    const result = await tasks.waitForResult(taskId, 10_000);
    assert.deepEqual([result.outcome, result.comment], ['completed', 'Approved from my phone.']);
  });

  test('an encoded (RFC 2047) subject works', async () => {
    const { taskId, requests } = await startTask('alice@example.test', 'Déploiement ✓ für Zürich');
    const reply = replyFromLink(requests.get('alice@example.test')!.complete, 'Ça marche.\n');
    assert.match(reply.subject, /Déploiement ✓/);
    await deliver('alice@example.test', reply);
    const result = await tasks.waitForResult(taskId, 10_000);
    assert.deepEqual([result.outcome, result.comment], ['completed', 'Ça marche.']);
  });
});

describe('mailbox sync: mail that must not decide anything', () => {
  /** Each case delivers one message; the sync reports its code and removes it; the task is untouched. */
  const cases: [
    string,
    (r: Request, taskId: string) => [string, SendMailOptions] | Promise<[string, SendMailOptions]>,
  ][] = [
    ['no-token', () => ['alice@example.test', { subject: 'Hello', text: 'Just saying hi.' }]],
    [
      'ambiguous',
      (r) => [
        'alice@example.test',
        { subject: 'Re: Action required', text: `Hmm.\n\n> ${r.text.split('\n').join('\n> ')}` },
      ],
    ],
    [
      'bad-signature',
      (r) => {
        const reply = replyFromLink(r.complete, 'ok\n');
        const forged = reply.subject.replace(
          /\.([A-Za-z0-9_-]{22})\]/,
          (_, mac: string) => `.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}]`,
        );
        return ['alice@example.test', { to: reply.to, subject: forged, text: 'ok' }];
      },
    ],
    [
      'expired',
      async (_, taskId) => {
        const token = signToken(
          {
            workflowId: taskWorkflowId(taskId),
            runId: await runIdOf(taskId),
            action: 'complete',
            recipient: 'alice@example.test',
            expiresAt: Date.now() - 60_000,
          },
          keys,
        );
        return ['alice@example.test', { subject: `Complete task [${token}]`, text: 'ok' }];
      },
    ],
    [
      'sender-mismatch',
      (r) => ['carol@example.test', replyFromLink(r.complete, 'carol pretends to be alice\n')],
    ],
    ['not-whitelisted', (r) => ['bob@other.test', replyFromLink(r.complete, 'from outside\n')]],
    [
      'auto-reply',
      (r) => [
        'alice@example.test',
        {
          ...replyFromLink(r.complete, 'I am out of office.\n'),
          headers: { 'Auto-Submitted': 'auto-replied' },
        },
      ],
    ],
    [
      'oversized',
      (r) => [
        'alice@example.test',
        {
          ...replyFromLink(r.complete, 'big\n'),
          attachments: [{ filename: 'big.bin', content: Buffer.alloc(300_000, 7) }],
        },
      ],
    ],
    [
      'unparseable',
      (r) => [
        'alice@example.test',
        { ...replyFromLink(r.complete, 'no sender\n'), from: 'undisclosed-recipients:;' },
      ],
    ],
  ];
  for (const [outcome, build] of cases) {
    test(`${outcome}: reported, logged, removed, and the task is untouched`, async () => {
      const { taskId, requests } = await startTask('alice@example.test');
      const [from, message] = await build(requests.get('alice@example.test')!, taskId);
      const { code, messageId } = await deliver(from, message);
      assert.equal(code, outcome);
      await expectLogLine(outcome, messageId!);
      const state = await tasks.getState(taskId);
      assert.equal(state.status, 'waiting');
      assert.equal(state.result, undefined);
      assert.deepEqual(state.ignored, []);
      await tasks.cancel(taskId);
    });
  }

  test('not-assigned, then duplicate: a reassigned-away sender cannot decide, and a replay is recorded once', async () => {
    const { taskId, requests } = await startTask('alice@example.test');
    await tasks.reassign(taskId, 'carol@example.test');
    const reply = {
      ...replyFromLink(requests.get('alice@example.test')!.complete, 'too late\n'),
      messageId: `<${unique('replay')}@example.test>`,
    };
    // Both reach the task, which records why it ignores them.
    assert.equal((await deliver('alice@example.test', reply)).code, 'signalled');
    assert.equal((await deliver('alice@example.test', reply)).code, 'signalled');
    const state = await settledState(taskId, (s) => s.ignored.length === 2);
    assert.equal(state.status, 'waiting');
    assert.deepEqual(
      state.ignored.map((i) => i.reason),
      ['not-assigned', 'duplicate'],
    );
    await tasks.cancel(taskId);
  });

  test('one run drains INBOX batch after batch', async () => {
    // Only this file triggers syncs (no tick within the hour, no IDLE): see syncAndWait.
    const ids = Array.from({ length: 60 }, () => `<${unique('bulk')}@example.test>`);
    await Promise.all(
      ids.map((messageId) =>
        sendAs(config, 'alice@example.test', {
          to: COMPLETION,
          subject: 'bulk',
          text: 'no token',
          messageId,
        }),
      ),
    );
    await eventually('all 60 in INBOX', async () => (await inboxCount(config, COMPLETION)) === 60);
    const summary = await syncAndWait(temporal, config.temporal.taskQueue);
    assert.equal(await inboxCount(config, COMPLETION), 0, 'INBOX drained');
    assert.deepEqual([summary.messages, summary.counts], [60, { 'no-token': 60 }], 'one run read all 60');
    assert.ok(summary.batches >= 2, 'in several batches (25 first, then up to 100 each)');
    assert.deepEqual(
      summary.outcomes.map((o) => o.messageId).sort(),
      [...ids].sort(),
      'each message listed once',
    );
  });

  test('task-closed: a reply to an earlier run of a reused task id does not decide the new run', async () => {
    const { taskId, requests } = await startTask('alice@example.test');
    await tasks.fail(taskId, { by: 'api-user', comment: 'first run failed' });
    await tasks.waitForResult(taskId, 10_000);
    // A pipeline asks again under the same id (executeChild allows reusing a closed id).
    await temporal.workflow.start<typeof remoteCompletionTask>('remoteCompletionTask', {
      workflowId: taskWorkflowId(taskId),
      taskQueue: config.temporal.taskQueue,
      args: [{ taskId, title: 'Second run', assignees: [{ address: 'alice@example.test' }] }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    const outcome = await deliver(
      'alice@example.test',
      replyFromLink(requests.get('alice@example.test')!.complete, 'old link\n'),
    );
    assert.equal(outcome.code, 'signalled', 'the second run is open: it gets the signal');
    const state = await settledState(taskId, (s) => s.ignored.length === 1);
    assert.deepEqual(
      state.ignored.map((i) => [i.reason, i.messageId]),
      [['task-closed', outcome.messageId]],
    );
    assert.equal(state.result, undefined, 'the second run is still open');
    await tasks.cancel(taskId);
  });

  test('task-closed: a reply for a task decided through the API changes nothing', async () => {
    const { taskId, requests } = await startTask('alice@example.test');
    await tasks.complete(taskId, { by: 'api-user', comment: 'done already' });
    await tasks.waitForResult(taskId, 10_000);
    const outcome = await deliver(
      'alice@example.test',
      replyFromLink(requests.get('alice@example.test')!.fail, 'fail it\n'),
    );
    // The task workflow has ended: the signal cannot reach it.
    assert.deepEqual([outcome.code, outcome.workflowId], ['task-closed', taskWorkflowId(taskId)]);
    const state = await tasks.getState(taskId);
    assert.deepEqual([state.result?.outcome, state.result?.decidedBy], ['completed', 'api-user']);
  });
});
