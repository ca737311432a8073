import { randomBytes } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { CancelledFailure, WorkflowIdReusePolicy, type Duration } from '@temporalio/common';
import { checkAssigneeAddresses, parseAssignees } from '../domain/assignees';
import { describeAssignees } from '../domain/assignee-teams';
import { parseDuration } from '../domain/duration';
import { isTaskStatus, TASK_STATUSES } from '../domain/task-status';
import type { WhitelistSettings } from '../domain/whitelist';
import { isPrintableLine } from '../domain/printable';
import { MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH } from '../domain/task-limits';
import { withRetryingDeliveries } from './retrying-deliveries';
import { resolveAssignees, type Teams } from '../domain/teams';
import { TASK_ID_PATTERN } from '../domain/task-workflow-id';
import {
  decideUpdate,
  reassignUpdate,
  stateQuery,
  taskWorkflowId,
  TASK_WORKFLOW_PREFIX,
  type Action,
  type Assignee,
  type TaskInput,
  type TaskResult,
  type TaskState,
  type TaskStatus,
} from '../workflows/definitions';
import { ASSIGNEES, STATUS } from '../workflows/search-attributes';
import type { remoteCompletionTask } from '../workflows/task';

/** Input the API or CLI got wrong; the message says what to fix. */
export class TaskInputError extends Error {
  override name = 'TaskInputError';
}

export interface StartTaskOptions {
  /** Letters, digits, `.`, `_`, `-`; generated when omitted. */
  taskId?: string;
  title: string;
  description?: string;
  /**
   * Addresses (`a@x`, `Name <a@x>`) and teams (`team:release-managers`, from the `teams` given to
   * the constructor), a comma-separated list, or a list of those and assignee objects.
   */
  assignees: string | readonly (string | Assignee)[];
  /** e.g. `2d` or `2 days` (Temporal's `Duration`), at most a year; no timeout when omitted. */
  timeout?: Duration;
  /** e.g. `1d`, at most a year; no reminders when omitted. */
  reminderEvery?: Duration;
  requester?: string;
  context?: Record<string, string>;
}

/** An API decision: `by` defaults to this client's Temporal identity, which is recorded either way. */
export interface ApiDecisionInput {
  by?: string;
  comment?: string;
}

export interface TaskSummary {
  taskId: string;
  workflowId: string;
  title?: string;
  status?: TaskStatus;
  assignees: string[];
  startedAt: string;
  closedAt?: string;
  /** Temporal's execution status, lower case: `terminated` for a task ended by hand, without an outcome. */
  executionStatus: string;
}

/** Statuses of a task that has not ended; a terminated task keeps the last one it recorded. */
const OPEN_STATUSES: readonly string[] = ['sending', 'waiting'] satisfies TaskStatus[];

/** The typed API for remote completion tasks: what the CLI uses, and what other services can use. */
export class RemoteCompletionClient {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly whitelist: WhitelistSettings = { enabled: false, domains: [] },
    /** The configuration's `teams`: what `team:<name>` in an assignee list stands for. */
    private readonly teams: Teams = {},
  ) {}

  async start(options: StartTaskOptions): Promise<{ taskId: string; workflowId: string }> {
    const input = this.validateStart(options);
    const workflowId = taskWorkflowId(input.taskId);
    try {
      await this.client.workflow.start<typeof remoteCompletionTask>('remoteCompletionTask', {
        workflowId,
        taskQueue: this.taskQueue,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: STATUS, value: 'sending' },
          { key: ASSIGNEES, value: input.assignees.map((a) => a.address) },
        ],
        staticSummary: `${input.title} (${describeAssignees(input.assignees)})`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new TaskInputError(`task ${input.taskId} already exists: choose another --id`);
      }
      throw err;
    }
    return { taskId: input.taskId, workflowId };
  }

  async getState(taskId: string): Promise<TaskState> {
    return this.call(taskId, async (handle) =>
      withRetryingDeliveries(handle, await handle.query(stateQuery)),
    );
  }

  /** The task's result; a cancelled task gives outcome `cancelled`. Rejects when `timeoutMs` passes first. */
  async waitForResult(taskId: string, timeoutMs?: number): Promise<TaskResult> {
    const result = this.call(taskId, async (handle) => {
      try {
        return await handle.result();
      } catch (err) {
        if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
          const state = await handle.query(stateQuery);
          return state.result ?? { outcome: 'cancelled' as const, decidedAt: new Date().toISOString() };
        }
        // Terminated, or failed on bad input (a child workflow's): the reason is the cause's message.
        if (err instanceof WorkflowFailedError)
          throw new TaskEndedError(
            `task ${taskId} ended without a result: ${err.cause?.message ?? err.message}`,
          );
        throw err;
      }
    });
    if (timeoutMs === undefined) return result;
    let timer: NodeJS.Timeout | undefined;
    const deadline = Date.now() + timeoutMs;
    const timeout = new Promise<never>((_, reject) => {
      // setTimeout fires at once past 2^31-1 ms (about 24 days): wait in steps.
      const wait = (): void => {
        const left = deadline - Date.now();
        if (left <= 0) reject(new WaitTimeoutError(`task ${taskId} is still open after ${timeoutMs} ms`));
        else timer = setTimeout(wait, Math.min(left, 2 ** 31 - 1));
      };
      wait();
    });
    try {
      return await Promise.race([result, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async list(filter: { status?: string; assignee?: string } = {}): Promise<TaskSummary[]> {
    // A task that continued as new leaves closed runs behind: list each task once, by its latest run.
    const clauses = [`WorkflowType = 'remoteCompletionTask'`, `ExecutionStatus != 'ContinuedAsNew'`];
    if (filter.status !== undefined) {
      if (!isTaskStatus(filter.status)) {
        throw new TaskInputError(
          `unknown status ${JSON.stringify(filter.status)}: expected one of ${TASK_STATUSES.join(', ')}`,
        );
      }
      clauses.push(`${STATUS.name} = '${filter.status}'`);
      if (OPEN_STATUSES.includes(filter.status)) clauses.push(`ExecutionStatus = 'Running'`);
    }
    if (filter.assignee !== undefined) {
      const [assignee] = parseOrThrow(filter.assignee);
      clauses.push(`${ASSIGNEES.name} = "${assignee!.address}"`);
    }
    const tasks: TaskSummary[] = [];
    for await (const info of this.client.workflow.list({ query: clauses.join(' AND ') })) {
      const recorded = info.typedSearchAttributes.get(STATUS);
      const running = info.status.name === 'RUNNING';
      // A terminated task never recorded an outcome: its last status would say it still waits.
      const status =
        isTaskStatus(recorded) && (running || !OPEN_STATUSES.includes(recorded)) ? recorded : undefined;
      tasks.push({
        taskId: info.workflowId.startsWith(TASK_WORKFLOW_PREFIX)
          ? info.workflowId.slice(TASK_WORKFLOW_PREFIX.length)
          : info.workflowId,
        workflowId: info.workflowId,
        title: typeof info.memo?.title === 'string' ? info.memo.title : undefined,
        status,
        assignees: info.typedSearchAttributes.get(ASSIGNEES) ?? [],
        startedAt:
          typeof info.memo?.createdAt === 'string' ? info.memo.createdAt : info.startTime.toISOString(),
        closedAt: info.closeTime?.toISOString(),
        executionStatus: info.status.name.toLowerCase(),
      });
    }
    return tasks;
  }

  complete(taskId: string, decision: ApiDecisionInput = {}): Promise<TaskResult> {
    return this.decide(taskId, 'complete', decision);
  }

  fail(taskId: string, decision: ApiDecisionInput = {}): Promise<TaskResult> {
    return this.decide(taskId, 'fail', decision);
  }

  /** Teams named in `assignees` are resolved again, from the current `teams`. */
  async reassign(taskId: string, assignees: string | readonly (string | Assignee)[]): Promise<TaskState> {
    const parsed = this.validateAssignees(assignees);
    return this.call(taskId, (handle) => handle.executeUpdate(reassignUpdate, { args: [parsed] }));
  }

  async cancel(taskId: string): Promise<void> {
    await this.call(taskId, async (handle) => {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING')
        throw new TaskInputError(`task ${taskId} is already closed (${status.name.toLowerCase()})`);
      await handle.cancel();
    });
  }

  private decide(taskId: string, action: Action, decision: ApiDecisionInput): Promise<TaskResult> {
    // Who called is recorded whatever `by` claims: anyone with write access to the namespace can decide.
    const caller = this.client.options.identity;
    const by = decision.by?.trim() || caller;
    if (!isPrintableLine(by) || by.length > 200)
      throw new TaskInputError('--by: expected one printable line of at most 200 characters');
    return this.call(taskId, (handle) =>
      handle.executeUpdate(decideUpdate, {
        args: [{ action, by, comment: decision.comment?.trim(), caller }],
      }),
    );
  }

  /** Runs an operation on a task's workflow, turning "not found" and refused updates into one clear error. */
  private async call<T>(
    taskId: string,
    op: (handle: WorkflowHandle<typeof remoteCompletionTask>) => Promise<T>,
  ): Promise<T> {
    checkTaskId(taskId);
    const handle = this.client.workflow.getHandle<typeof remoteCompletionTask>(taskWorkflowId(taskId));
    try {
      return await op(handle);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // Updates to a closed workflow also answer "not found": tell the two apart.
        const closed = await handle.describe().catch(() => undefined);
        if (!closed) throw new TaskInputError(`no task with id ${taskId}`);
        const recorded = closed.typedSearchAttributes.get(STATUS);
        const status =
          recorded && !OPEN_STATUSES.includes(recorded) ? recorded : closed.status.name.toLowerCase();
        throw new TaskInputError(`task ${taskId} is already closed (${status})`);
      }
      if (err instanceof WorkflowUpdateFailedError) {
        // The reason is the innermost cause, e.g. the whitelist refusal under "activity failed".
        let cause: Error = err;
        while (cause.cause instanceof Error) cause = cause.cause;
        throw new TaskInputError(`task ${taskId}: ${cause.message}`);
      }
      throw err;
    }
  }

  private validateStart(options: StartTaskOptions): TaskInput {
    const title = options.title?.trim();
    if (!title) throw new TaskInputError('a task needs a title (--title)');
    if (title.length > MAX_TITLE_LENGTH)
      throw new TaskInputError(`the title is longer than ${MAX_TITLE_LENGTH} characters`);
    if ((options.description?.length ?? 0) > MAX_DESCRIPTION_LENGTH) {
      throw new TaskInputError(
        `the description is longer than ${MAX_DESCRIPTION_LENGTH} characters: link to a longer document instead`,
      );
    }
    const taskId = options.taskId ?? generateTaskId();
    checkTaskId(taskId);
    return {
      taskId,
      title,
      description: options.description,
      assignees: this.validateAssignees(options.assignees),
      timeout: durationOrThrow('timeout', options.timeout),
      reminderEvery: durationOrThrow('reminder-every', options.reminderEvery),
      requester: options.requester,
      context: options.context,
    };
  }

  private validateAssignees(assignees: string | readonly (string | Assignee)[]): Assignee[] {
    let parsed: Assignee[];
    try {
      parsed = resolveAssignees(assignees, this.teams);
    } catch (err) {
      throw new TaskInputError((err as Error).message);
    }
    const problem = checkAssigneeAddresses(
      parsed.map((a) => a.address),
      this.whitelist,
    );
    if (problem) throw new TaskInputError(problem);
    return parsed;
  }
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

/** The task's workflow ended without a result: it was terminated, or failed on its input. */
export class TaskEndedError extends Error {
  override name = 'TaskEndedError';
}

function parseOrThrow(list: string | readonly (string | Assignee)[]): Assignee[] {
  try {
    return parseAssignees(list);
  } catch (err) {
    throw new TaskInputError((err as Error).message);
  }
}

function durationOrThrow(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new TaskInputError(`--${name}: ${(err as Error).message}`);
  }
}

function checkTaskId(taskId: string): void {
  if (!TASK_ID_PATTERN.test(taskId)) {
    throw new TaskInputError(
      `invalid task id ${JSON.stringify(taskId)}: use letters, digits, ".", "_" or "-" (at most 100)`,
    );
  }
}

function generateTaskId(): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  return `${day}-${randomBytes(4).toString('hex')}`;
}
