/** How a task ended. */
export const TASK_OUTCOMES = ['completed', 'failed', 'timed-out', 'cancelled'] as const;
export type Outcome = (typeof TASK_OUTCOMES)[number];

/** Where a task stands: sending its first requests, waiting for a decision, or how it ended. */
export const TASK_STATUSES = ['sending', 'waiting', ...TASK_OUTCOMES] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export function isTaskStatus(value: unknown): value is TaskStatus {
  return TASK_STATUSES.some((status) => status === value);
}

/** How a decision reached the task: an email reply or the API. */
export type Channel = 'email' | 'api';
