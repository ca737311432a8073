import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
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
  type ApiDecision,
  type Assignee,
  type AssigneeState,
  type TaskInput,
  type TaskResult,
} from './definitions';
import { ASSIGNEES, STATUS } from './search-attributes';
import { Task, type TaskSnapshot } from './task-state';

type TaskActivities = ReturnType<typeof taskActivities.createTaskMailActivities>;

// Requests are retried until the SMTP server takes them; only a permanent rejection stops them.
// Cancelling one waits for a running attempt to end, so its outcome is known before the task closes.
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

/** Patch: search attributes are upserted only when they change (histories before it upsert each round). */
const PUBLISH_CHANGES_ONLY = 'publish-changes-only';

/** Reminder rounds in one run before it continues as new, unless the input says otherwise. */
export const DEFAULT_CONTINUE_AS_NEW_AFTER_REMINDERS = 50;

/** The workflow's input: a new task, or (after continue-as-new) the task as the last run left it. */
export interface TaskRunInput extends TaskInput {
  resume?: TaskSnapshot;
}

/**
 * One task that waits for a person's decision, by email reply or through the API: mail each
 * assignee a request, remind them, and close on the first valid decision, the timeout or
 * cancellation; then confirm to everyone who got a request.
 */
export async function remoteCompletionTask(input: TaskRunInput): Promise<TaskResult> {
  const { timeoutMs, reminderMs, continueAsNewAfterReminders } = validateInput(input);
  const { workflowId, firstExecutionRunId } = workflowInfo();
  const task = input.resume
    ? Task.resume(input.resume, reminderMs)
    : Task.create({
        runId: firstExecutionRunId,
        taskId: input.taskId,
        title: input.title,
        assignees: input.assignees,
        now: Date.now(),
        timeoutMs,
        reminderMs,
      });
  // Every request runs in this scope; closing the task cancels the ones still being retried.
  const requests = new CancellationScope();

  let published: string | undefined;
  const publish = (): void => {
    setCurrentDetails(
      `**${task.status}**: ${task.assignees.map((a) => `${a.address} (${a.delivery})`).join(', ')}`,
    );
    const addresses = task.assignees.map((a) => a.address);
    const attributes = JSON.stringify([task.status, addresses]);
    // An upsert that changes nothing still costs a history event: every reminder round made one.
    if (attributes === published && patched(PUBLISH_CHANGES_ONLY)) return;
    published = attributes;
    upsertSearchAttributes([
      { key: STATUS, value: task.status },
      { key: ASSIGNEES, value: addresses },
    ]);
  };

  const deliver = async (assignee: AssigneeState, reminder: boolean): Promise<void> => {
    const { address } = assignee;
    const requestKey = task.beginDelivery(address);
    try {
      const { messageId } = await sendRequest({
        workflowId,
        runId: task.runId,
        taskId: input.taskId,
        title: input.title,
        description: input.description,
        requester: input.requester,
        context: input.context,
        recipient: { address, name: assignee.name },
        requestKey,
        issuedAt: Date.now(),
        expiresAt: task.deadline,
        reminder,
      });
      task.deliverySent(address, messageId, reminder, Date.now());
    } catch (err) {
      if (isCancellation(err)) return task.deliveryAbandoned(address);
      const reason = failureMessage(err);
      task.deliveryFailed(address, reason);
      log.warn('request not delivered', { taskId: input.taskId, to: address, reason });
    }
  };
  /** Starts the sends; the task counts them, so nothing closes or continues while one runs. */
  const sendRequests = (assignees: readonly AssigneeState[], reminder: boolean): void => {
    if (assignees.length === 0) return;
    const all = requests.run(() => Promise.all(assignees.map((a) => deliver(a, reminder))));
    all.then(publish, () => {}); // deliver() handles its own failures
  };

  // Before the handlers: an update buffered with the start is delivered as soon as its handler exists.
  if (!input.resume) upsertMemo({ title: input.title, createdAt: task.view().createdAt });
  publish();

  setHandler(stateQuery, () => task.view());

  setHandler(emailDecisionSignal, (decision) => {
    const verdict = task.decideByEmail(decision, Date.now());
    const fields = { taskId: input.taskId, by: decision.sender.toLowerCase(), messageId: decision.messageId };
    if ('ignored' in verdict) {
      log.info('decision ignored', { ...fields, outcome: verdict.ignored, action: decision.action });
    } else {
      log.info('decision accepted', { ...fields, outcome: verdict.accepted.outcome });
      publish();
    }
  });

  setHandler(
    decideUpdate,
    (decision) => {
      const result = task.decideByApi(decision, Date.now());
      log.info('decision accepted', {
        outcome: result.outcome,
        taskId: input.taskId,
        by: decision.by,
        channel: 'api',
      });
      publish();
      return result;
    },
    { validator: (decision: ApiDecision) => throwIf(task.apiDecisionProblem(decision)) },
  );

  setHandler(
    reassignUpdate,
    async (assignees) => {
      await checkAssignees(assignees.map((a) => a.address));
      // A decision may have closed the task while the addresses were checked.
      const closed = task.closedReason();
      if (closed)
        throw ApplicationFailure.create({ message: closed, type: 'TaskClosed', nonRetryable: true });
      const added = task.reassign(assignees);
      publish();
      log.info('task reassigned', { taskId: input.taskId, assignees: task.assignees.map((a) => a.address) });
      sendRequests(added, false);
      return task.view();
    },
    { validator: (assignees: Assignee[]) => throwIf(task.reassignProblem(assignees)) },
  );

  const continueAsNewDue = (): boolean =>
    workflowInfo().continueAsNewSuggested || task.reminderRoundsThisRun >= continueAsNewAfterReminders;
  /** No send or handler under way: the task may close or continue as new. */
  const settled = (): boolean => task.deliveriesInFlight === 0 && allHandlersFinished();

  /** Sends reminders and times out until a decision closes the task or this run should end. */
  const waitForDecision = async (): Promise<'closed' | 'continue-as-new'> => {
    let now = Date.now();
    while (!task.isClosed) {
      if (task.deadlinePassed(now)) {
        task.timeOut(now);
        publish();
        break;
      }
      if (task.reminderDue(now)) {
        sendRequests(task.reminderRound(now), true);
        continue;
      }
      if (continueAsNewDue()) {
        await condition(() => task.isClosed || settled());
        if (!task.isClosed) return 'continue-as-new';
        break;
      }
      const wakeAt = task.nextWakeAt();
      const woken = () => task.isClosed || continueAsNewDue();
      if (wakeAt === undefined) {
        await condition(woken);
      } else if (!(await condition(woken, Math.max(wakeAt - now, 1)))) {
        // The timer fired: what it waited for is due, even if the clock reads a hair earlier.
        now = Math.max(Date.now(), wakeAt);
        continue;
      }
      now = Date.now();
    }
    return 'closed';
  };

  try {
    if (!input.resume) {
      await checkAssignees(task.assignees.map((a) => a.address));
      if (!task.isClosed) sendRequests(task.assignees, false);
    }
    if ((await waitForDecision()) === 'continue-as-new') {
      // The memo (title, createdAt) is not carried by itself; search attributes are published anew.
      const nextRun = makeContinueAsNewFunc<typeof remoteCompletionTask>({ memo: workflowInfo().memo });
      return await nextRun({ ...input, resume: task.snapshot() });
    }
    requests.cancel();
    await condition(settled);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      task.cancel(Date.now());
      publish();
      await condition(settled);
      await confirm(task);
    });
    throw err;
  }
  await confirm(task);
  return task.result!;
}

/**
 * Child-workflow callers skip the client's checks: bad input fails the task, not its worker.
 * Returns the durations in milliseconds.
 */
function validateInput(input: TaskInput): {
  timeoutMs?: number;
  reminderMs?: number;
  continueAsNewAfterReminders: number;
} {
  try {
    if (!input.title?.trim()) throw new Error('a task needs a title');
    if (input.title.length > MAX_TITLE_LENGTH)
      throw new Error(`the title is longer than ${MAX_TITLE_LENGTH} characters`);
    if ((input.description?.length ?? 0) > MAX_DESCRIPTION_LENGTH)
      throw new Error(`the description is longer than ${MAX_DESCRIPTION_LENGTH} characters`);
    if (!input.assignees?.length) throw new Error('a task needs at least one assignee');
    const badName = input.assignees.find((a) => a.name !== undefined && !isPrintableLine(a.name));
    if (badName) throw new Error(`assignee name of ${badName.address}: use one printable line`);
    const rounds = input.continueAsNewAfterReminders ?? DEFAULT_CONTINUE_AS_NEW_AFTER_REMINDERS;
    if (!Number.isInteger(rounds) || rounds < 1)
      throw new Error(`continueAsNewAfterReminders: expected a whole number >= 1, got ${String(rounds)}`);
    return {
      timeoutMs: durationMs('timeout', input.timeout),
      reminderMs: durationMs('reminderEvery', input.reminderEvery),
      continueAsNewAfterReminders: rounds,
    };
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `invalid task input: ${(err as Error).message}`,
      'InvalidTaskInput',
    );
  }
}

/** One confirmation per recipient: a refused address never holds back the others'. */
async function confirm(task: Task): Promise<void> {
  const { result } = task;
  if (!result) return;
  const recipients = task.assignees
    .filter((a) => a.delivery === 'sent')
    .map(({ address, name }) => ({ address, name }));
  await Promise.all(
    recipients.map((recipient) =>
      sendConfirmation({
        recipient,
        runId: task.runId,
        taskId: task.taskId,
        title: task.title,
        result,
      }).catch((err: unknown) =>
        log.warn('confirmation not delivered', {
          taskId: task.taskId,
          to: recipient.address,
          reason: failureMessage(err),
        }),
      ),
    ),
  );
}

function throwIf(problem: string | undefined): void {
  if (problem) throw new Error(problem);
}

function durationMs(name: string, value: TaskInput['timeout']): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
  }
}

function failureMessage(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
