import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectTemporal } from '../../client/connect';
import type { WorkerHandle } from '../../worker/run-worker';
import type { releaseWithApproval } from '../../dev/workflows/example-release';
import { startWorker, taskClient, testConfig, testLogger, unique, waitForMail } from '../helpers/env';

const config = testConfig();
let worker: WorkerHandle;

before(async () => {
  worker = await startWorker(config, testLogger('child-workflow'));
});
after(() => worker.shutdown());

test('a parent workflow waits for a remote completion task run as its child', async () => {
  const release = unique('2026.11');
  const { client, connection } = await connectTemporal(config.temporal);
  try {
    const parent = await client.workflow.start<typeof releaseWithApproval>('releaseWithApproval', {
      workflowId: unique('release-pipeline'),
      taskQueue: config.temporal.taskQueue,
      args: [{ release, approvers: [{ address: 'alice@example.test', name: 'Alice' }] }],
    });
    await waitForMail(config, 'alice@example.test', (mail) =>
      (mail.subject ?? '').includes(`Deploy release ${release}`),
    );
    const tasks = await taskClient(config);
    await tasks.complete(`release-${release}`, { by: 'alice@example.test', comment: 'go' });
    const outcome = await parent.result();
    assert.equal(outcome.deployed, true);
    assert.equal(outcome.approval.comment, 'go');
  } finally {
    await connection.close();
  }
});
