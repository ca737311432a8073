import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { connectTemporal } from '../../client/connect';
import { triggerSync } from '../../worker/sync-schedule';
import {
  clearInbox,
  COMPLETION,
  endRunningSyncs,
  eventually,
  inboxCount,
  logDir,
  startAndComplete,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
  writeConfigFile,
} from '../helpers/env';
import { outcomeOf, syncAndWait } from '../helpers/sync-runs';

const config = testConfig(triggeredSyncsOnly);

test('a worker killed between signal and delete: the reply is processed again harmlessly, decided once', async () => {
  await clearInbox(config, COMPLETION);
  const configFile = writeConfigFile(config);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/support/crashing-worker.ts',
      configFile,
      path.join(logDir, 'crashing-worker.log'),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('worker running') && resolve()),
  );

  const { client, connection } = await connectTemporal(config.temporal);
  const tasks = await taskClient(config);
  try {
    const messageId = `<${unique('crash-reply')}@example.test>`;
    const taskId = await startAndComplete(config, tasks, 'Survive a crash', 'ship it', { messageId });
    await eventually('the reply in INBOX', async () => (await inboxCount(config, COMPLETION)) === 1);

    await triggerSync(client, config.temporal.taskQueue);
    assert.equal(await exited, 'SIGKILL', 'the worker died when it tried to delete');
    assert.equal(await inboxCount(config, COMPLETION), 1, 'the reply is still in INBOX after the crash');

    const worker = await startWorker(config, testLogger('mailbox-crash'));
    try {
      // The dead worker's sync run waits for its activity to time out; end it as an operator would.
      await endRunningSyncs(client, config, 'worker crashed');
      const summary = await syncAndWait(client, config.temporal.taskQueue);
      assert.equal(await inboxCount(config, COMPLETION), 0, 'INBOX is empty');
      // The decision is in the task's history; its confirmation email may wait for the dead
      // worker's activity to time out, so look at the state rather than the workflow result.
      const state = await eventually(
        'the task to be decided',
        async () => {
          const current = await tasks.getState(taskId);
          return current.result && current;
        },
        30_000,
      );
      assert.deepEqual(
        [state.result?.outcome, state.result?.decidedBy, state.result?.comment],
        ['completed', 'alice@example.test', 'ship it'],
      );
      // Read again: still signalled to the task, which ignores it as a duplicate, or the task has
      // ended meanwhile and the signal finds it closed.
      assert.ok(
        ['signalled', 'task-closed'].includes(outcomeOf(summary, messageId)?.code ?? 'missing'),
        JSON.stringify(summary.outcomes),
      );
      assert.ok(
        state.ignored.every((i) => i.reason === 'duplicate'),
        'nothing but the replay was ignored',
      );
    } finally {
      await worker.shutdown();
    }
  } finally {
    child.kill('SIGKILL');
    await connection.close();
  }
});
