/**
 * The floors' workflows: the plainest Temporal code of the same shape as a task (start, two
 * activities, wait for one signal) and as nothing at all (wait for one signal).
 */
import {
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { createFloorActivities } from './activities';

export const doneSignal = defineSignal('done');

const { first, second } = proxyActivities<ReturnType<typeof createFloorActivities>>({
  startToCloseTimeout: '1 minute',
});

/** A task's shape without its work: two activities, then wait for the decision. */
export async function floorTask(): Promise<void> {
  let done = false;
  setHandler(doneSignal, () => void (done = true));
  await first();
  await second();
  await condition(() => done);
}

/** Waits for one signal. */
export async function floorWait(): Promise<void> {
  let done = false;
  setHandler(doneSignal, () => void (done = true));
  await condition(() => done);
}

/** Signals every given workflow, `inFlight` at a time (all at once when 0). */
export async function floorSignaller(workflowIds: string[], inFlight = 0): Promise<void> {
  const signal = (id: string) => getExternalWorkflowHandle(id).signal(doneSignal);
  if (inFlight === 0) {
    await Promise.all(workflowIds.map(signal));
    return;
  }
  let next = 0;
  const lane = async () => {
    while (next < workflowIds.length) await signal(workflowIds[next++]!);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}
