import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { parseDuration } from '../domain/duration';
import { isPrintableLine } from '../domain/printable';
import { MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH } from '../domain/task-limits';
import type * as taskActivities from '../activities/task-mail';
import {
  decideUpdate,
  emailDecisionSignal,
  reassignUpdate,
  stateQuery,
  type Action,
  type ApiDecision,
  type Assignee,
  type AssigneeState,
  type Channel,
  type IgnoreReason,
  type Outcome,
  type TaskInput,
  type TaskResult,
  type TaskState,
  type TaskStatus,
} from './definitions';
import { ASSIGNEES, STATUS } from './search-attributes';

type TaskActivities = ReturnType<typeof taskActivities.createTaskMailActivities>;

// Requests are retried until the SMTP server takes them; only a permanent rejection stops them.
const { sendRequest } = proxyActivities<TaskActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: ['PermanentDeliveryError'],
  },
});
const { sendConfirmation, checkAssignees } = proxyActivities<TaskActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '2s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['PermanentDeliveryError', 'InvalidAssignee'],
  },
});

const OUTCOME_OF: Record<Action, Outcome> = { complete: 'completed', fail: 'failed' };

/** One task that waits for a person's decision, by email reply or through the API. */
export async function remoteCompletionTask(input: TaskInput): Promise<TaskResult> {
  const { workflowId, firstExecutionRunId: runId } = workflowInfo();
  const createdAt = Date.now();
  // Child-workflow callers skip the client's checks: bad input fails the task, not its worker.
  let timeoutMs: number | undefined;
  let reminderMs: number | undefined;
  try {
    if (!input.title?.trim()) throw new Error('a task needs a title');
    if (input.title.length > MAX_TITLE_LENGTH)
      throw new Error(`the title is longer than ${MAX_TITLE_LENGTH} characters`);
    if ((input.description?.length ?? 0) > MAX_DESCRIPTION_LENGTH)
      throw new Error(`the description is longer than ${MAX_DESCRIPTION_LENGTH} characters`);
    if (!input.assignees?.length) throw new Error('a task needs at least one assignee');
    const badName = input.assignees.find((a) => a.name !== undefined && !isPrintableLine(a.name));
    if (badName) throw new Error(`assignee name of ${badName.address}: use one printable line`);
    timeoutMs = durationMs('timeout', input.timeout);
    reminderMs = durationMs('reminderEvery', input.reminderEvery);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `invalid task input: ${(err as Error).message}`,
      'InvalidTaskInput',
    );
  }
  const deadline = timeoutMs === undefined ? undefined : createdAt + timeoutMs;
  const state: TaskState = {
    taskId: input.taskId,
    title: input.title,
    status: 'sending',
    assignees: input.assignees.map(newAssignee),
    createdAt: iso(createdAt),
    timeoutAt: deadline === undefined ? undefined : iso(deadline),
    ignored: [],
  };
  const seenMessageIds = new Set<string>();
  /** Requests sent per address, so each request gets its own stable Message-ID. */
  const requestCount = new Map<string, number>();

  const finish = (result: TaskResult): void => {
    state.result = result;
    setStatus(result.outcome);
  };
  const setStatus = (status: TaskStatus): void => {
    state.status = status;
    upsertSearchAttributes([
      { key: STATUS, value: status },
      { key: ASSIGNEES, value: state.assignees.map((a) => a.address) },
    ]);
    setCurrentDetails(
      `**${status}**: ${state.assignees.map((a) => `${a.address} (${a.delivery})`).join(', ')}`,
    );
  };
  const ignore = (
    action: Action,
    by: string,
    channel: Channel,
    reason: IgnoreReason,
    messageId?: string,
  ): void => {
    state.ignored.push({ action, by, channel, reason, messageId, at: iso(Date.now()) });
    log.info('decision ignored', { outcome: reason, taskId: input.taskId, by, action, messageId });
  };

  const deliver = async (assignee: AssigneeState, reminder: boolean): Promise<void> => {
    const sequence = requestCount.get(assignee.address) ?? 0;
    requestCount.set(assignee.address, sequence + 1);
    try {
      const { messageId } = await sendRequest({
        workflowId,
        runId,
        taskId: input.taskId,
        title: input.title,
        description: input.description,
        requester: input.requester,
        context: input.context,
        recipient: { address: assignee.address, name: assignee.name },
        requestKey: `${assignee.address}#${sequence}`,
        issuedAt: Date.now(),
        expiresAt: deadline,
        reminder,
      });
      assignee.delivery = 'sent';
      assignee.messageId = messageId;
      assignee.sentAt = iso(Date.now());
      if (reminder) assignee.remindersSent++;
    } catch (err) {
      // The task was cancelled while this send was under way: the main flow handles that.
      if (isCancellation(err)) return;
      assignee.delivery = 'failed';
      assignee.deliveryError = failureMessage(err);
      log.warn('request not delivered', {
        taskId: input.taskId,
        to: assignee.address,
        reason: assignee.deliveryError,
      });
    }
  };
  const deliverAll = (assignees: AssigneeState[], reminder: boolean): Promise<void> =>
    Promise.all(assignees.map((a) => deliver(a, reminder))).then(() => {
      if (!state.result)
        // Waiting even when no email went out: the API can still decide, and the state says why.
        setStatus('waiting');
    });

  // Before the handlers: an update buffered with the start is delivered as soon as its handler exists.
  upsertMemo({ title: input.title });
  setStatus('sending');

  setHandler(stateQuery, () => state);

  setHandler(emailDecisionSignal, (decision) => {
    const sender = decision.sender.toLowerCase();
    if (seenMessageIds.has(decision.messageId))
      return ignore(decision.action, sender, 'email', 'duplicate', decision.messageId);
    seenMessageIds.add(decision.messageId);
    // A request from an earlier run of this task id: that task is closed.
    if (state.result || decision.runId !== runId) {
      return ignore(decision.action, sender, 'email', 'task-closed', decision.messageId);
    }
    if (!state.assignees.some((a) => a.address === sender)) {
      return ignore(decision.action, sender, 'email', 'not-assigned', decision.messageId);
    }
    const outcome = OUTCOME_OF[decision.action];
    finish({
      outcome,
      decidedBy: sender,
      decidedAt: iso(Date.now()),
      comment: decision.comment || undefined,
      channel: 'email',
    });
    log.info('decision accepted', {
      outcome,
      taskId: input.taskId,
      by: sender,
      messageId: decision.messageId,
    });
  });

  setHandler(
    decideUpdate,
    (decision) => {
      const outcome = OUTCOME_OF[decision.action];
      finish({
        outcome,
        decidedBy: decision.by,
        decidedAt: iso(Date.now()),
        comment: decision.comment || undefined,
        channel: 'api',
      });
      log.info('decision accepted', { outcome, taskId: input.taskId, by: decision.by, channel: 'api' });
      return state.result!;
    },
    {
      validator: (decision: ApiDecision) => {
        if (state.result) throw new Error(`task ${input.taskId} is already ${state.result.outcome}`);
        if (decision.action !== 'complete' && decision.action !== 'fail')
          throw new Error(`unknown action ${String(decision.action)}`);
        if (!decision.by?.trim()) throw new Error('a decision needs "by": who decided');
      },
    },
  );

  setHandler(
    reassignUpdate,
    async (assignees) => {
      await checkAssignees(assignees.map((a) => a.address));
      const previous = new Map(state.assignees.map((a) => [a.address, a]));
      state.assignees = assignees.map((a) => previous.get(a.address) ?? newAssignee(a));
      const added = state.assignees.filter((a) => !previous.has(a.address));
      setStatus(state.status);
      log.info('task reassigned', { taskId: input.taskId, assignees: state.assignees.map((a) => a.address) });
      void deliverAll(added, false);
      return state;
    },
    {
      validator: (assignees: Assignee[]) => {
        if (state.result) throw new Error(`task ${input.taskId} is already ${state.result.outcome}`);
        if (assignees.length === 0) throw new Error('reassign needs at least one assignee');
      },
    },
  );

  try {
    await checkAssignees(state.assignees.map((a) => a.address));
    if (!state.result) void deliverAll(state.assignees, false);
    while (!state.result) {
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0) {
        finish({ outcome: 'timed-out', decidedAt: iso(Date.now()) });
        break;
      }
      const wait = Math.min(remaining ?? Infinity, reminderMs ?? Infinity);
      const decided = await (wait === Infinity
        ? condition(() => !!state.result).then(() => true)
        : condition(() => !!state.result, wait));
      if (!decided && reminderMs !== undefined && (deadline === undefined || Date.now() < deadline)) {
        void deliverAll(
          state.assignees.filter((a) => a.delivery === 'sent'),
          true,
        );
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      finish({ outcome: 'cancelled', decidedAt: iso(Date.now()) });
      await confirm(state, runId);
    });
    throw err;
  }
  await confirm(state, runId);
  return state.result!;
}

async function confirm(state: TaskState, runId: string): Promise<void> {
  const recipients = state.assignees
    .filter((a) => a.delivery === 'sent')
    .map(({ address, name }) => ({ address, name }));
  const { result } = state;
  if (!result) return;
  // One activity per recipient: a refused address never holds back the others' confirmations.
  await Promise.all(
    recipients.map((recipient) =>
      sendConfirmation({ recipient, runId, taskId: state.taskId, title: state.title, result }).catch(
        (err: unknown) =>
          log.warn('confirmation not delivered', {
            taskId: state.taskId,
            to: recipient.address,
            reason: failureMessage(err),
          }),
      ),
    ),
  );
}

function durationMs(name: string, value: TaskInput['timeout']): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
  }
}

function newAssignee(assignee: Assignee): AssigneeState {
  return {
    address: assignee.address.toLowerCase(),
    name: assignee.name,
    delivery: 'pending',
    remindersSent: 0,
  };
}

function failureMessage(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
