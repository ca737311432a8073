/** Prefix of every task workflow id: `remote-completion/<taskId>`. */
export const TASK_WORKFLOW_PREFIX = 'remote-completion/';

/** What the client accepts as a task id; a compact token carries it as it is. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const taskWorkflowId = (taskId: string): string => `${TASK_WORKFLOW_PREFIX}${taskId}`;

/** The task id of a task workflow id in the client's format, else undefined. */
export function taskIdOf(workflowId: string): string | undefined {
  if (!workflowId.startsWith(TASK_WORKFLOW_PREFIX)) return undefined;
  const taskId = workflowId.slice(TASK_WORKFLOW_PREFIX.length);
  return TASK_ID_PATTERN.test(taskId) ? taskId : undefined;
}
