import type {
  Action,
  ApiDecision,
  Assignee,
  AssigneeState,
  Channel,
  EmailDecision,
  IgnoredDecision,
  IgnoreReason,
  Outcome,
  TaskResult,
  TaskState,
  TaskStatus,
} from './definitions';

/** How many seen reply Message-IDs and ignored decisions a task keeps: the latest ones. */
export const KEPT_RECORDS = 100;

const OUTCOME_OF: Record<Action, Outcome> = { complete: 'completed', fail: 'failed' };

/** Everything a task carries from one run to the next when it continues as new (plain JSON). */
export interface TaskSnapshot {
  /** The first run's id: tokens and Message-IDs of every request are bound to it. */
  runId: string;
  taskId: string;
  title: string;
  status: TaskStatus;
  assignees: AssigneeState[];
  createdAt: number;
  deadline?: number;
  nextReminderAt?: number;
  /** Requests sent per address over the task's life, so each request gets its own Message-ID. */
  requestsSent: Record<string, number>;
  /** The latest reply Message-IDs, oldest first: a repeat of one is a duplicate. */
  seenMessageIds: string[];
  ignored: IgnoredDecision[];
  ignoredCount: number;
  reminderRounds: number;
  runs: number;
  result?: TaskResult;
}

export interface NewTask {
  runId: string;
  taskId: string;
  title: string;
  assignees: Assignee[];
  now: number;
  timeoutMs?: number;
  reminderMs?: number;
}

export type EmailVerdict = { accepted: TaskResult } | { ignored: IgnoreReason };

/**
 * The rules of one task, without Temporal: who may decide, what closes the task, when reminders
 * are due, what a delivery changes. The workflow feeds it messages, timers and activity results.
 */
export class Task {
  private readonly inFlight = new Map<string, number>();
  private roundsThisRun = 0;

  private constructor(
    private readonly state: TaskSnapshot,
    private readonly reminderMs: number | undefined,
  ) {}

  static create({ runId, taskId, title, assignees, now, timeoutMs, reminderMs }: NewTask): Task {
    return new Task(
      {
        runId,
        taskId,
        title,
        status: 'sending',
        assignees: assignees.map(newAssignee),
        createdAt: now,
        deadline: timeoutMs === undefined ? undefined : now + timeoutMs,
        nextReminderAt: reminderMs === undefined ? undefined : now + reminderMs,
        requestsSent: {},
        seenMessageIds: [],
        ignored: [],
        ignoredCount: 0,
        reminderRounds: 0,
        runs: 1,
      },
      reminderMs,
    );
  }

  /** The task as the previous run left it, in a new run. */
  static resume(snapshot: TaskSnapshot, reminderMs: number | undefined): Task {
    return new Task({ ...snapshot, runs: snapshot.runs + 1 }, reminderMs);
  }

  /** What the next run starts from; only taken when no delivery is under way. */
  snapshot(): TaskSnapshot {
    if (this.deliveriesInFlight > 0) throw new Error('a snapshot is taken only between deliveries');
    return this.state;
  }

  get runId(): string {
    return this.state.runId;
  }
  get taskId(): string {
    return this.state.taskId;
  }
  get title(): string {
    return this.state.title;
  }
  get status(): TaskStatus {
    return this.state.status;
  }
  get assignees(): readonly AssigneeState[] {
    return this.state.assignees;
  }
  get deadline(): number | undefined {
    return this.state.deadline;
  }
  get result(): TaskResult | undefined {
    return this.state.result;
  }
  get isClosed(): boolean {
    return this.state.result !== undefined;
  }
  get reminderRoundsThisRun(): number {
    return this.roundsThisRun;
  }
  get deliveriesInFlight(): number {
    let total = 0;
    for (const count of this.inFlight.values()) total += count;
    return total;
  }

  /** The `state` query's answer. */
  view(): TaskState {
    const { state } = this;
    return {
      taskId: state.taskId,
      title: state.title,
      status: state.status,
      assignees: state.assignees,
      createdAt: iso(state.createdAt),
      timeoutAt: state.deadline === undefined ? undefined : iso(state.deadline),
      result: state.result,
      ignored: state.ignored,
      ignoredCount: state.ignoredCount,
      runs: state.runs,
    };
  }

  /** Why the task can take no more decisions or assignees, or undefined while it is open. */
  closedReason(): string | undefined {
    return this.state.result && `task ${this.state.taskId} is already ${this.state.result.outcome}`;
  }

  // --- Decisions ---------------------------------------------------------------------------------

  /** A verified reply: first check for a repeat, then whether it may still decide. */
  decideByEmail(decision: EmailDecision, now: number): EmailVerdict {
    const sender = decision.sender.toLowerCase();
    const ignore = (reason: IgnoreReason): EmailVerdict => {
      this.recordIgnored({
        action: decision.action,
        by: sender,
        channel: 'email',
        reason,
        messageId: decision.messageId,
        at: iso(now),
      });
      return { ignored: reason };
    };
    if (this.state.seenMessageIds.includes(decision.messageId)) return ignore('duplicate');
    keepLatest(this.state.seenMessageIds, decision.messageId);
    // A request from an earlier task with the same id carries that task's run id.
    if (this.isClosed || decision.runId !== this.state.runId) return ignore('task-closed');
    if (!this.state.assignees.some((a) => a.address === sender)) return ignore('not-assigned');
    return { accepted: this.close(OUTCOME_OF[decision.action], now, sender, 'email', decision.comment) };
  }

  /** The `decide` update's validator: the problem with this decision, if any. */
  apiDecisionProblem(decision: ApiDecision): string | undefined {
    if (decision.action !== 'complete' && decision.action !== 'fail')
      return `unknown action ${String(decision.action)}`;
    if (!decision.by?.trim()) return 'a decision needs "by": who decided';
    return this.closedReason();
  }

  decideByApi(decision: ApiDecision, now: number): TaskResult {
    const problem = this.apiDecisionProblem(decision);
    if (problem) throw new Error(problem);
    return this.close(OUTCOME_OF[decision.action], now, decision.by, 'api', decision.comment);
  }

  cancel(now: number): TaskResult {
    return this.state.result ?? this.close('cancelled', now);
  }

  // --- Assignees ---------------------------------------------------------------------------------

  /** The `reassign` update's validator. */
  reassignProblem(assignees: Assignee[]): string | undefined {
    if (assignees.length === 0) return 'reassign needs at least one assignee';
    return this.closedReason();
  }

  /**
   * Replaces the assignees: kept ones keep their delivery state, removed ones can no longer
   * decide. Returns the new ones, who need a request.
   */
  reassign(assignees: Assignee[]): AssigneeState[] {
    const problem = this.reassignProblem(assignees);
    if (problem) throw new Error(problem);
    const previous = new Map(this.state.assignees.map((a) => [a.address, a]));
    this.state.assignees = assignees.map((a) => previous.get(a.address.toLowerCase()) ?? newAssignee(a));
    return this.state.assignees.filter((a) => !previous.has(a.address));
  }

  // --- Deliveries --------------------------------------------------------------------------------

  /** A request to `address` is about to be sent; returns its key, stable across activity retries. */
  beginDelivery(address: string): string {
    const sequence = this.state.requestsSent[address] ?? 0;
    this.state.requestsSent[address] = sequence + 1;
    this.inFlight.set(address, (this.inFlight.get(address) ?? 0) + 1);
    return `${address}#${sequence}`;
  }

  deliverySent(address: string, messageId: string, reminder: boolean, now: number): void {
    const assignee = this.endDelivery(address);
    if (!assignee) return;
    assignee.delivery = 'sent';
    assignee.deliveryError = undefined;
    assignee.messageId = messageId;
    assignee.sentAt = iso(now);
    if (reminder) assignee.remindersSent++;
  }

  deliveryFailed(address: string, reason: string): void {
    const assignee = this.endDelivery(address);
    if (!assignee) return;
    // A refused reminder leaves the earlier, delivered request standing.
    if (assignee.delivery !== 'sent') {
      assignee.delivery = 'failed';
      assignee.deliveryError = reason;
    }
  }

  /** The send was cancelled (the task closed first): nothing changes for the assignee. */
  deliveryAbandoned(address: string): void {
    this.endDelivery(address);
  }

  private endDelivery(address: string): AssigneeState | undefined {
    const left = (this.inFlight.get(address) ?? 1) - 1;
    if (left > 0) this.inFlight.set(address, left);
    else this.inFlight.delete(address);
    // The first requests are all done, delivered or not: the API can decide even when none arrived.
    if (this.state.status === 'sending' && this.inFlight.size === 0 && !this.isClosed)
      this.state.status = 'waiting';
    return this.state.assignees.find((a) => a.address === address);
  }

  // --- Time --------------------------------------------------------------------------------------

  /** When the task next needs the workflow without a message: its deadline or next reminder. */
  nextWakeAt(): number | undefined {
    const times = [this.state.deadline, this.state.nextReminderAt].filter((t) => t !== undefined);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  deadlinePassed(now: number): boolean {
    return this.state.deadline !== undefined && now >= this.state.deadline;
  }

  timeOut(now: number): TaskResult {
    return this.state.result ?? this.close('timed-out', now);
  }

  reminderDue(now: number): boolean {
    return !this.isClosed && this.state.nextReminderAt !== undefined && now >= this.state.nextReminderAt;
  }

  /**
   * Starts a reminder round: returns whom to remind (delivered, no send under way) and sets the
   * next round's time.
   */
  reminderRound(now: number): AssigneeState[] {
    if (this.reminderMs !== undefined) this.state.nextReminderAt = now + this.reminderMs;
    this.state.reminderRounds++;
    this.roundsThisRun++;
    return this.state.assignees.filter((a) => a.delivery === 'sent' && !this.inFlight.has(a.address));
  }

  // --- Internals ---------------------------------------------------------------------------------

  private close(outcome: Outcome, now: number, by?: string, channel?: Channel, comment?: string): TaskResult {
    const result: TaskResult = { outcome, decidedAt: iso(now) };
    if (by !== undefined) result.decidedBy = by;
    if (comment) result.comment = comment;
    if (channel !== undefined) result.channel = channel;
    this.state.result = result;
    this.state.status = outcome;
    return result;
  }

  private recordIgnored(ignored: IgnoredDecision): void {
    keepLatest(this.state.ignored, ignored);
    this.state.ignoredCount++;
  }
}

function keepLatest<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > KEPT_RECORDS) list.splice(0, list.length - KEPT_RECORDS);
}

function newAssignee(assignee: Assignee): AssigneeState {
  return {
    address: assignee.address.toLowerCase(),
    name: assignee.name,
    delivery: 'pending',
    remindersSent: 0,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
