import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { connectTemporal } from '../../client/connect';
import { repoRoot } from '../../stack';
import { triggerSync } from '../../worker/sync-schedule';
import {
  clearInbox,
  COMPLETION,
  eventually,
  inboxCount,
  startAndComplete,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  waitForMail,
  writeConfigFile,
} from '../helpers/env';

test('the built worker starts from the prebuilt bundle and drains on SIGTERM during a sync', async () => {
  const root = repoRoot();
  const build = spawnSync(process.execPath, ['bin/build.js'], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  assert.match(build.stdout, /dist\/workflow-bundle\.js/);

  const config = testConfig((c) => {
    triggeredSyncsOnly(c);
    c.imap.idle = true;
    c.log.level = 'debug';
  });
  await clearInbox(config, COMPLETION);
  const configFile = writeConfigFile(config);
  const child = spawn(process.execPath, ['bin/remote-completion.js', 'worker', '--config', configFile], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await eventually('the worker to run', () => Promise.resolve(output.includes('worker running')), 30_000);
    assert.doesNotMatch(output, /Workflow bundle created/, 'no webpack at start-up');

    const tasks = await taskClient(config);
    const taskId = await startAndComplete(config, tasks, 'Drain me', 'before the restart');
    // `decision read` comes after the built worker's mail thread (dist/activities/classify-thread.js)
    // has parsed and classified the reply.
    await eventually(
      'the sync to start',
      () =>
        Promise.resolve(
          /"activityType":"fetchMailBatch"|decision read|IMAP IDLE/.test(output) &&
            output.includes('"msg":"decision read"'),
        ),
      10_000,
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `exit code 0 after SIGTERM\n${output.slice(-2000)}`);
    assert.match(output, /worker stopped/);

    // Whatever the signal interrupted, a new worker finishes it: decided once, INBOX empty.
    const worker = await startWorker(config, testLogger('worker-process'));
    try {
      const { client, connection } = await connectTemporal(config.temporal);
      await triggerSync(client, config.temporal.taskQueue);
      await connection.close();
      await eventually('INBOX to be empty', async () => (await inboxCount(config, COMPLETION)) === 0, 20_000);
      // A dead worker's sticky queue delays the task's next workflow task by up to 10 s.
      const result = await tasks.waitForResult(taskId, 30_000);
      assert.deepEqual([result.outcome, result.comment], ['completed', 'before the restart']);
      const confirmations = await waitForMail(
        config,
        'alice@example.test',
        (m) => (m.subject ?? '').startsWith('Completed') && (m.text ?? '').includes(taskId),
      );
      assert.equal(confirmations.length, 1);
    } finally {
      await worker.shutdown();
    }
  } finally {
    child.kill('SIGKILL');
  }
});
