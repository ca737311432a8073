import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { connectTemporal } from '../../client/connect';
import { repoRoot } from '../../dev/stack';
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

const root = repoRoot();
let build: SpawnSyncReturns<string> | undefined;
/** `npm run build`, once for this file. */
function built(): SpawnSyncReturns<string> {
  build ??= spawnSync(process.execPath, ['bin/build.js'], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  return build;
}

test('the production build holds the product only: no stack, demo, bench or example code, no start or stack command', () => {
  built();
  const dist = path.join(root, 'dist');
  assert.deepEqual(readdirSync(dist).sort(), [
    'activities',
    'cli',
    'client',
    'config',
    'domain',
    'mail',
    'worker',
    'workflow-bundle.js',
    'workflows',
  ]);
  const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  const aptGet = files.filter((f) => readFileSync(path.join(dist, f), 'utf8').includes('apt-get'));
  assert.deepEqual(aptGet, [], 'no apt-get in the production build');
  const bundle = readFileSync(path.join(dist, 'workflow-bundle.js'), 'utf8');
  assert.match(bundle, /remoteCompletionTask/);
  assert.doesNotMatch(
    bundle,
    /releaseWithApproval/,
    'the example parent workflow is not in the production bundle',
  );

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/remote-completion.js', ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    });
  const help = cli('--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^ {2}worker /m);
  assert.match(help.stdout, /^ {2}check /m);
  assert.doesNotMatch(help.stdout, /^ {2}(start|stack)\b/m);
  const start = cli('start');
  assert.equal(start.status, 2, 'start is not a command of the production CLI');
  assert.match(start.stderr, /unknown command 'start'/);
});

test('the built worker starts from the prebuilt bundle and drains on SIGTERM during a sync', async () => {
  assert.match(built().stdout, /dist\/workflow-bundle\.js/);

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
    // `decision read` comes after the built worker's mail thread (dist/mail/classify-thread.js)
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
