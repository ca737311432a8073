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

describe('mail lands, task closes', () => {
  test('with IMAP IDLE on, a reply closes its task within 2 s (polling is an hour away), also after the server drops IDLE', async () => {
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
      const ms = await replyToClose(config);
      assert.ok(ms < 2000, `closed ${ms} ms after the reply`);

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
      const again = await replyToClose(config);
      assert.ok(again < 2000, `after reconnecting, closed ${again} ms after the reply`);
    } finally {
      await worker.shutdown();
    }
  });

  test('with IDLE off, the scheduled poll closes it within one interval', async () => {
    const interval = 3000;
    const config = testConfig((c) => {
      c.remoteCompletion.syncInterval = interval;
      c.remoteCompletion.startupDelay = 0;
      c.imap.idle = false;
    });
    await clearInbox(config, COMPLETION);
    const worker = await startWorker(config, testLogger('mailbox-push-poll'));
    try {
      const ms = await replyToClose(config);
      // One interval, plus the sync run itself.
      assert.ok(ms < interval + 2000, `closed ${ms} ms after the reply`);
    } finally {
      await worker.shutdown();
    }
  });
});
