import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import type { Config } from '../../config/schema';
import {
  clearInbox,
  COMPLETION,
  eventually,
  logLines,
  stackDir,
  startAndComplete,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
} from '../helpers/env';

/** Starts a task for alice, replies with Complete, and returns ms from reply accepted to task closed. */
async function replyToClose(config: Config): Promise<number> {
  const tasks = await taskClient(config);
  const taskId = await startAndComplete(config, tasks, 'Fast lane', 'quick');
  const sent = Date.now();
  const result = await tasks.waitForResult(taskId, 30_000);
  assert.equal(result.outcome, 'completed');
  return Date.now() - sent;
}

// Each test leaves exactly one way for a sync to start, so a closed task proves that way works.
// How fast is only reported (t.diagnostic): the machine may be busy with other work.
describe('mail lands, task closes', () => {
  test('with IMAP IDLE on and polling an hour away, a reply closes its task, also after the server drops IDLE', async (t) => {
    const config = testConfig((c) => {
      triggeredSyncsOnly(c);
      c.imap.idle = true;
    });
    await clearInbox(config, COMPLETION);
    const worker = await startWorker(config, testLogger('mailbox-push-idle'));
    try {
      await eventually('the IDLE watcher', () =>
        Promise.resolve(logLines('mailbox-push-idle', { msg: 'watching INBOX with IMAP IDLE' }).length > 0),
      );
      t.diagnostic(`closed ${await replyToClose(config)} ms after the reply`);

      // The server drops the IDLE session: the watcher reconnects and push keeps working.
      const kicked = await promisify(execFile)('doveadm', [
        '-c',
        path.join(stackDir, 'dovecot', 'dovecot.conf'),
        'kick',
        COMPLETION,
      ]);
      assert.match(kicked.stdout, /completion@example\.test/);
      await eventually('the IDLE watcher to reconnect', () =>
        Promise.resolve(logLines('mailbox-push-idle', { msg: 'watching INBOX with IMAP IDLE' }).length >= 2),
      );
      t.diagnostic(`after reconnecting, closed ${await replyToClose(config)} ms after the reply`);
    } finally {
      await worker.shutdown();
    }
  });

  test('with IDLE off, the scheduled poll closes it', async (t) => {
    const interval = 3000;
    const config = testConfig((c) => {
      c.remoteCompletion.syncInterval = interval;
      c.remoteCompletion.startupDelay = 0;
      c.imap.idle = false;
    });
    await clearInbox(config, COMPLETION);
    const worker = await startWorker(config, testLogger('mailbox-push-poll'));
    try {
      t.diagnostic(`closed ${await replyToClose(config)} ms after the reply (polling every ${interval} ms)`);
    } finally {
      await worker.shutdown();
    }
  });
});
