import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { eventually, startWorker, taskClient, testConfig, testLogger, unique } from '../helpers/env';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

test('metrics.prometheus serves the SDK metrics that matter', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const config = testConfig((c) => {
    c.metrics.prometheus = address;
    c.imap.idle = false;
  });
  const worker = await startWorker(config, testLogger('metrics'));
  try {
    const tasks = await taskClient(config);
    const taskId = unique('metrics');
    await tasks.start({ taskId, title: 'Count me', assignees: 'alice@example.test' });
    await tasks.complete(taskId, { by: 'metrics-test' });
    await tasks.waitForResult(taskId, 10_000);
    const body = await eventually('activity metrics', async () => {
      const text = await (await fetch(`http://${address}/metrics`)).text();
      return text.includes('temporal_activity_schedule_to_start_latency') && text;
    });
    for (const name of [
      'temporal_workflow_task_schedule_to_start_latency',
      'temporal_activity_execution_latency',
      'temporal_workflow_completed',
    ]) {
      assert.ok(body.includes(name), `${name} is exported`);
    }
  } finally {
    await worker.shutdown();
  }
});
