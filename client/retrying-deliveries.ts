import type { WorkflowHandle } from '@temporalio/client';
import type { TaskState } from '../workflows/definitions';

/**
 * While a request is being retried (SMTP server down, login refused), the workflow only knows the
 * assignee's delivery as `pending`; the server knows the retrying activity's attempts and last
 * failure. Puts that into the assignee's `deliveryError`, so the state says why nothing arrived.
 */
export async function withRetryingDeliveries(handle: WorkflowHandle, state: TaskState): Promise<TaskState> {
  const pending = state.assignees.filter((a) => a.delivery === 'pending');
  if (pending.length === 0) return state;
  const { raw } = await handle.describe();
  for (const activity of raw.pendingActivities ?? []) {
    const failure = activity.lastFailure?.message;
    if (activity.activityType?.name !== 'sendRequest' || !failure) continue;
    // sendRequest's failures start with the recipient's address (activities/task-mail.ts).
    const assignee = pending.find((a) => failure.startsWith(`${a.address}: `));
    if (!assignee) continue;
    const failed = Math.max(1, (activity.attempt ?? 2) - 1);
    assignee.deliveryError = `${failed} attempt(s) failed, retrying: ${failure.slice(assignee.address.length + 2)}`;
  }
  return state;
}
