import { executeChild } from '@temporalio/workflow';
import { taskWorkflowId, type Assignee, type TaskResult } from '../../workflows/definitions';
import { remoteCompletionTask } from '../../workflows/task';

export interface ReleaseInput {
  release: string;
  approvers: Assignee[];
}

/**
 * Example: a release pipeline that waits for a person's go-ahead by email before it deploys.
 * Any workflow can do the same: run `remoteCompletionTask` as a child and branch on its outcome.
 */
export async function releaseWithApproval({
  release,
  approvers,
}: ReleaseInput): Promise<{ deployed: boolean; approval: TaskResult }> {
  const taskId = `release-${release}`;
  const approval = await executeChild(remoteCompletionTask, {
    workflowId: taskWorkflowId(taskId),
    args: [
      { taskId, title: `Deploy release ${release} to production?`, assignees: approvers, timeout: '2d' },
    ],
  });
  // ...the real deployment activities would run here when approved.
  return { deployed: approval.outcome === 'completed', approval };
}
