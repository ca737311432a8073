/** A worker for the floor workflows on the bench stack's Temporal: the plainest worker there is. */
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../../../config/schema';
import { installRuntime } from '../../../worker/run-worker';
import { cachedBundle } from '../../../worker/workflow-bundle';
import { log } from '../harness';
import { createFloorActivities } from './activities';

export async function createFloorWorker(
  config: Config,
  taskQueue: string,
  onSecond: () => void = () => {},
): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime(log); // the SDK's logs through the bench's quiet logger, as the product worker's
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowBundle: await cachedBundle(require.resolve('./workflows'), log),
    activities: createFloorActivities(onSecond),
  });
  return { worker, connection };
}
