import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { ParsedMail } from 'mailparser';
import { parseMailto } from '../../domain/mailto';
import { keyring, verifyToken, findTokens } from '../../domain/token';
import {
  emailDecisionSignal,
  stateQuery,
  taskWorkflowId,
  type Action,
  type TaskState,
} from '../../workflows/definitions';
import { connectTemporal } from '../../client/connect';
import {
  eventually,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  unique,
  waitForMail,
} from '../helpers/env';
import { temporalCliPath } from '../helpers/temporal-cli';
import type { RemoteCompletionClient } from '../../client/task-client';
import type { WorkerHandle } from '../../worker/run-worker';
import type { remoteCompletionTask } from '../../workflows/task';

const config = testConfig();
const log = testLogger('task');
const keys = keyring(config.signature.secrets);
let worker: WorkerHandle;
let tasks: RemoteCompletionClient;

before(async () => {
  worker = await startWorker(config, log);
  tasks = await taskClient(config);
});
after(() => worker.shutdown());

const forTask =
  (taskId: string, subjectPrefix = 'Action required') =>
  (mail: ParsedMail) =>
    (mail.subject ?? '').startsWith(subjectPrefix) && (mail.text ?? '').includes(taskId);

async function waitForState(
  taskId: string,
  predicate: (state: TaskState) => boolean,
  timeoutMs = 15_000,
): Promise<TaskState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await tasks.getState(taskId);
    if (predicate(state)) return state;
    if (Date.now() > deadline)
      throw new Error(`task ${taskId} did not reach the expected state: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function hrefs(html: string): string[] {
  return [...html.matchAll(/href="(mailto:[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

describe('task workflow against the real stack', () => {
  test('a task for alice and carol mails each their own request with working mailto links', async () => {
    const taskId = unique('two');
    await tasks.start({
      taskId,
      title: 'Approve <b>prod</b> deploy',
      description: 'Check **the** backup',
      assignees: 'alice@example.test, Carol <carol@example.test>',
    });
    for (const address of ['alice@example.test', 'carol@example.test']) {
      const [mail] = await waitForMail(config, address, forTask(taskId));
      const { parsed } = mail!;
      assert.ok(parsed.html, 'has an HTML part');
      assert.ok(parsed.text, 'has a text part');
      assert.equal(parsed.replyTo?.value[0]?.address, config.imap.fromAddress);
      assert.match(parsed.html, /Approve &lt;b&gt;prod&lt;\/b&gt; deploy/);
      const links = hrefs(parsed.html);
      assert.equal(links.length, 2, 'two buttons');
      const actions = links.map((href) => {
        const link = parseMailto(href);
        assert.deepEqual(link.to, [config.imap.fromAddress]);
        const [subjectToken] = findTokens(link.subject ?? '');
        assert.ok(subjectToken, 'the subject carries a token');
        assert.ok(findTokens(link.body ?? '').includes(subjectToken), 'the body carries the same token');
        const check = verifyToken(subjectToken, keys, Date.now(), address);
        assert.ok(check.ok, 'the token verifies');
        assert.equal(check.claims.recipient, address);
        assert.equal(check.claims.workflowId, taskWorkflowId(taskId));
        return check.claims.action;
      });
      assert.deepEqual(actions.sort(), ['complete', 'fail']);
    }
    const state = await waitForState(taskId, (s) => s.status === 'waiting');
    assert.deepEqual(
      state.assignees.map((a) => [a.address, a.delivery]),
      [
        ['alice@example.test', 'sent'],
        ['carol@example.test', 'sent'],
      ],
    );
    await tasks.cancel(taskId);
  });

  test('API complete closes the task, records who and why, and confirms to every assignee', async () => {
    const taskId = unique('complete');
    await tasks.start({
      taskId,
      title: 'Complete me',
      assignees: ['alice@example.test', 'carol@example.test'],
    });
    await waitForState(taskId, (s) => s.status === 'waiting');
    const result = await tasks.complete(taskId, { by: 'ops-bot', comment: 'looks good' });
    assert.equal(result.outcome, 'completed');
    assert.match(String(result.caller), /\S@\S/, "the client's Temporal identity is recorded beside by");
    assert.deepEqual(await tasks.waitForResult(taskId, 10_000), result);
    const state = await tasks.getState(taskId);
    assert.equal(state.status, 'completed');
    assert.deepEqual(
      { ...state.result, decidedAt: undefined },
      {
        outcome: 'completed',
        decidedBy: 'ops-bot',
        comment: 'looks good',
        channel: 'api',
        caller: result.caller,
        decidedAt: undefined,
      },
    );
    for (const address of ['alice@example.test', 'carol@example.test']) {
      const [confirmation] = await waitForMail(config, address, forTask(taskId, 'Completed'));
      assert.match(confirmation!.parsed.text ?? '', /ops-bot/);
      assert.match(confirmation!.parsed.text ?? '', /looks good/);
    }
    await assert.rejects(tasks.fail(taskId, { by: 'late' }), /already (completed|closed)/);
  });

  test('API fail closes the task as failed; without by, the decision is by the client identity', async () => {
    const taskId = unique('fail');
    await tasks.start({ taskId, title: 'Fail me', assignees: 'alice@example.test' });
    const result = await tasks.fail(taskId, { comment: 'backup missing' });
    assert.equal(result.outcome, 'failed');
    assert.match(String(result.decidedBy), /\S@\S/);
    assert.equal(result.decidedBy, result.caller);
    assert.equal((await tasks.waitForResult(taskId, 10_000)).comment, 'backup missing');
    assert.equal((await tasks.getState(taskId)).status, 'failed');
  });

  test('reassign mails the new assignee; the old one can no longer decide', async () => {
    const taskId = unique('reassign');
    await tasks.start({ taskId, title: 'Hand over', assignees: 'alice@example.test' });
    await waitForState(taskId, (s) => s.status === 'waiting');
    const state = await tasks.reassign(taskId, 'carol@example.test');
    assert.deepEqual(
      state.assignees.map((a) => a.address),
      ['carol@example.test'],
    );
    await waitForMail(config, 'carol@example.test', forTask(taskId));
    const { client, connection } = await connectTemporal(config.temporal);
    try {
      const handle = client.workflow.getHandle(taskWorkflowId(taskId));
      const { runId } = await handle.describe();
      // What the mailbox sync would send for a verified reply.
      const reply = (action: Action, sender: string, messageId: string) =>
        handle.signal(emailDecisionSignal, {
          action,
          runId,
          sender,
          comment: 'no',
          messageId,
          receivedAt: new Date().toISOString(),
        });
      await reply('complete', 'alice@example.test', '<old@x>');
      await reply('fail', 'Carol@Example.test', '<new@x>');
      await reply('fail', 'carol@example.test', '<new@x>');
      const result = await tasks.waitForResult(taskId, 10_000);
      assert.deepEqual(
        [result.outcome, result.decidedBy, result.channel],
        ['failed', 'carol@example.test', 'email'],
      );
      const final = await handle.query(stateQuery);
      assert.deepEqual(
        final.ignored.map((i) => [i.by, i.reason]),
        [
          ['alice@example.test', 'not-assigned'],
          ['carol@example.test', 'duplicate'],
        ],
      );
    } finally {
      await connection.close();
    }
  });

  test('cancel closes the task as cancelled and tells the assignees', async () => {
    const taskId = unique('cancel');
    await tasks.start({ taskId, title: 'Cancel me', assignees: 'alice@example.test' });
    await waitForState(taskId, (s) => s.status === 'waiting');
    await tasks.cancel(taskId);
    assert.equal((await tasks.waitForResult(taskId, 10_000)).outcome, 'cancelled');
    assert.equal((await waitForState(taskId, (s) => s.status === 'cancelled')).result?.outcome, 'cancelled');
    await waitForMail(config, 'alice@example.test', forTask(taskId, 'Cancelled'));
    await assert.rejects(tasks.cancel(taskId), /already closed/);
  });

  test('a task without a decision times out', async () => {
    const taskId = unique('timeout');
    await tasks.start({ taskId, title: 'Nobody answers', assignees: 'alice@example.test', timeout: '2s' });
    const result = await tasks.waitForResult(taskId, 15_000);
    assert.equal(result.outcome, 'timed-out');
    assert.equal((await tasks.getState(taskId)).status, 'timed-out');
  });

  test('reminders re-send the request while the task waits', async () => {
    const taskId = unique('remind');
    await tasks.start({
      taskId,
      title: 'Remind me',
      assignees: 'alice@example.test',
      reminderEvery: '2s',
      timeout: '7s',
    });
    const reminders = await waitForMail(
      config,
      'alice@example.test',
      forTask(taskId, 'Reminder: Action required'),
      { count: 2 },
    );
    const ids = new Set(reminders.map((r) => r.parsed.messageId));
    assert.equal(ids.size, reminders.length, 'each reminder has its own Message-ID');
    assert.equal((await tasks.waitForResult(taskId, 15_000)).outcome, 'timed-out');
    assert.ok((await tasks.getState(taskId)).assignees[0]!.remindersSent >= 2);
  });

  test('an address the SMTP server rejects is recorded as failed with the reason', async () => {
    const taskId = unique('reject');
    await tasks.start({
      taskId,
      title: 'Unknown user',
      assignees: 'alice@example.test, nobody@example.test',
    });
    const state = await waitForState(taskId, (s) => s.assignees.every((a) => a.delivery !== 'pending'));
    const nobody = state.assignees.find((a) => a.address === 'nobody@example.test')!;
    assert.equal(nobody.delivery, 'failed');
    assert.match(nobody.deliveryError ?? '', /550/);
    assert.equal(state.status, 'waiting', 'alice still got hers');
    await tasks.cancel(taskId);
  });

  test('a restarted worker picks up a waiting task and loses nothing', async () => {
    const taskId = unique('restart');
    await tasks.start({ taskId, title: 'Survive a restart', assignees: 'alice@example.test' });
    await waitForState(taskId, (s) => s.status === 'waiting');
    await worker.shutdown();
    worker = await startWorker(config, log);
    const result = await tasks.complete(taskId, { by: 'after-restart' });
    assert.equal(result.decidedBy, 'after-restart');
    const state = await tasks.getState(taskId);
    assert.equal(state.assignees[0]!.delivery, 'sent');
    const requests = await waitForMail(config, 'alice@example.test', forTask(taskId));
    assert.equal(requests.length, 1, 'the request was not sent again');
  });

  test('cancelling a task whose requests cannot be sent (SMTP down) ends it as cancelled', async () => {
    const smtpDown = testConfig((c) => {
      c.smtp.port = 1; // nothing listens: every send is retried
      c.imap.idle = false;
    });
    const stuckWorker = await startWorker(smtpDown, log);
    try {
      const stuckTasks = await taskClient(smtpDown);
      const taskId = unique('smtp-down');
      await stuckTasks.start({ taskId, title: 'Never sent', assignees: 'alice@example.test' });
      // The state says why nothing arrived while the send is retried.
      const retrying = await waitForState(taskId, (s) => !!s.assignees[0]!.deliveryError);
      assert.equal(retrying.assignees[0]!.delivery, 'pending');
      assert.match(
        retrying.assignees[0]!.deliveryError!,
        /^\d+ attempt\(s\) failed, retrying: .*ECONNREFUSED/,
      );
      await stuckTasks.cancel(taskId);
      assert.equal((await stuckTasks.waitForResult(taskId, 15_000)).outcome, 'cancelled');
      assert.equal((await stuckTasks.getState(taskId)).status, 'cancelled');
    } finally {
      await stuckWorker.shutdown();
    }
  });

  test('a child-workflow caller with bad input gets a failed task, not a stuck one', async () => {
    const { client, connection } = await connectTemporal(config.temporal);
    try {
      const alice = [{ address: 'alice@example.test' }];
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ timeout: 'soon' }, /invalid task input: timeout: expected a duration/],
        [{ timeout: '99999999999w' }, /invalid task input: timeout: expected at most one year/],
        [{ reminderEvery: 0 }, /invalid task input: reminderEvery: expected a positive duration/],
        [{ description: 'x'.repeat(20_001) }, /invalid task input: the description is longer than 20000/],
        [
          { assignees: [{ address: 'alice@example.test', name: 'Alice\nBcc: eve@example.test' }] },
          /invalid task input: assignee name of alice@example.test: use one printable line/,
        ],
      ];
      for (const [input, message] of cases) {
        const taskId = unique('bad-input');
        const handle = await client.workflow.start<typeof remoteCompletionTask>('remoteCompletionTask', {
          workflowId: taskWorkflowId(taskId),
          taskQueue: config.temporal.taskQueue,
          args: [{ taskId, title: 'x', assignees: alice, ...input }],
        });
        await assert.rejects(handle.result(), (err: Error) => {
          assert.match(String((err.cause as Error | undefined)?.message), message);
          return true;
        });
      }
    } finally {
      await connection.close();
    }
  });

  test('starting the same task id twice is refused', async () => {
    const taskId = unique('twice');
    await tasks.start({ taskId, title: 'Once', assignees: 'alice@example.test' });
    await assert.rejects(
      tasks.start({ taskId, title: 'Twice', assignees: 'alice@example.test' }),
      new RegExp(`task ${taskId} already exists`),
    );
    await tasks.cancel(taskId);
  });

  test('bad input is refused with one clear line and starts nothing', async () => {
    const cases: [Parameters<RemoteCompletionClient['start']>[0], RegExp][] = [
      [{ title: '', assignees: 'alice@example.test' }, /needs a title/],
      [{ title: 'x', assignees: 'not-an-address' }, /not an email address: "not-an-address"/],
      [{ title: 'x', assignees: 'alice@example.test', timeout: 'soon' }, /--timeout: expected a duration/],
      [
        { title: 'x', assignees: 'alice@example.test', timeout: '99999999999w' },
        /--timeout: expected at most one year \(1y\), got "99999999999w"$/,
      ],
      [
        { title: 'x', assignees: 'alice@example.test', reminderEvery: '0s' },
        /--reminder-every: expected a positive duration/,
      ],
      [
        { title: 'x', assignees: 'alice@example.test', description: 'x'.repeat(20_001) },
        /the description is longer than 20000 characters/,
      ],
      [
        { title: 'x', assignees: [{ address: 'alice@example.test', name: 'Alice\x1b[2K' }] },
        /assignee name "Alice\\u001b\[2K" holds control characters or line breaks/,
      ],
      [{ title: 'x', assignees: 'alice@example.test', taskId: 'bad id!' }, /invalid task id/],
    ];
    for (const [options, message] of cases) await assert.rejects(tasks.start(options), message);
    await assert.rejects(tasks.getState('no-such-task'), /no task with id no-such-task/);
  });

  test('with whitelisting on, an assignee outside the listed domains is refused at start', async () => {
    const strict = testConfig((c) => {
      c.whitelist = { enabled: true, domains: ['example.test'] };
    });
    const strictTasks = await taskClient(strict);
    const taskId = unique('whitelist');
    await assert.rejects(
      strictTasks.start({ taskId, title: 'x', assignees: 'alice@example.test,bob@other.test' }),
      /not in the domain whitelist.*bob@other\.test/,
    );
    await assert.rejects(tasks.getState(taskId), /no task with id/);
  });

  test('temporal workflow list finds waiting tasks by the status search attribute', async () => {
    const taskId = unique('listed');
    await tasks.start({ taskId, title: 'Find me', assignees: 'alice@example.test' });
    await waitForState(taskId, (s) => s.status === 'waiting');
    const deadline = Date.now() + 15_000;
    let output = '';
    while (!output.includes(taskWorkflowId(taskId)) && Date.now() < deadline) {
      ({ stdout: output } = await promisify(execFile)(temporalCliPath(), [
        'workflow',
        'list',
        '--address',
        config.temporal.address,
        '--namespace',
        config.temporal.namespace,
        '--query',
        "RemoteCompletionStatus = 'waiting'",
      ]));
      if (!output.includes(taskWorkflowId(taskId))) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.ok(output.includes(taskWorkflowId(taskId)), output);
    const listed = await tasks.list({ status: 'waiting', assignee: 'alice@example.test' });
    assert.ok(listed.some((t) => t.taskId === taskId && t.title === 'Find me'));
    await tasks.cancel(taskId);
  });

  test('a terminated task is not listed as waiting, and says it was terminated', async () => {
    const taskId = unique('terminated');
    await tasks.start({ taskId, title: 'Ended by hand', assignees: 'alice@example.test' });
    await waitForState(taskId, (s) => s.status === 'waiting');
    const { client, connection } = await connectTemporal(config.temporal);
    try {
      await client.workflow.getHandle(taskWorkflowId(taskId)).terminate('operator ended it');
    } finally {
      await connection.close();
    }
    // Visibility is eventually consistent: wait until it has seen the termination.
    const [summary] = await eventually('the terminated task in the list', async () => {
      const found = (await tasks.list({ assignee: 'alice@example.test' })).filter((t) => t.taskId === taskId);
      return found[0]?.executionStatus === 'terminated' && found;
    });
    assert.equal(summary!.status, undefined, 'the waiting status it last recorded is not its status');
    const waiting = await tasks.list({ status: 'waiting', assignee: 'alice@example.test' });
    assert.ok(!waiting.some((t) => t.taskId === taskId), 'not listed as waiting');
    await assert.rejects(tasks.complete(taskId, { by: 'me' }), /is already closed \(terminated\)/);
  });
});
