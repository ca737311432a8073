import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { EmailDecision } from '../domain/email-decision';
import type { Channel, Outcome, TaskStatus } from '../domain/task-status';
import type { Action } from '../domain/token';

export type { Action, Channel, EmailDecision, Outcome, TaskStatus };

/** Prefix of every task workflow id: `remote-completion/<taskId>`. */
export const TASK_WORKFLOW_PREFIX = 'remote-completion/';
export const taskWorkflowId = (taskId: string): string => `${TASK_WORKFLOW_PREFIX}${taskId}`;

export interface Assignee {
  /** Lower-case email address. */
  address: string;
  name?: string;
}

export interface TaskInput {
  taskId: string;
  title: string;
  /** Plain text or Markdown (rendered safely). */
  description?: string;
  assignees: Assignee[];
  /** The task times out when no decision came within this duration, e.g. `2d`. */
  timeout?: Duration;
  /** Re-send the request to undecided assignees this often while waiting, e.g. `1d`. */
  reminderEvery?: Duration;
  requester?: string;
  /** Extra facts shown in the request email, e.g. `{ release: '2026.11' }`. */
  context?: Record<string, string>;
  /**
   * Continue as new after this many reminder rounds in one run (default 50), to keep history short;
   * Temporal's own suggestion to continue as new is followed too.
   */
  continueAsNewAfterReminders?: number;
}

export interface TaskResult {
  outcome: Outcome;
  decidedBy?: string;
  /** ISO 8601. */
  decidedAt: string;
  comment?: string;
  channel?: Channel;
}

export interface ApiDecision {
  action: Action;
  /** Who decided, e.g. an email address or user name. */
  by: string;
  comment?: string;
}

export type IgnoreReason = 'duplicate' | 'not-assigned' | 'task-closed';

export interface IgnoredDecision {
  action: Action;
  by: string;
  messageId?: string;
  channel: Channel;
  reason: IgnoreReason;
  /** ISO 8601. */
  at: string;
}

export type DeliveryStatus = 'pending' | 'sent' | 'failed';

export interface AssigneeState extends Assignee {
  delivery: DeliveryStatus;
  deliveryError?: string;
  /** Message-ID of the latest request sent to this assignee. */
  messageId?: string;
  /** ISO 8601, latest request. */
  sentAt?: string;
  remindersSent: number;
}

export interface TaskState {
  taskId: string;
  title: string;
  status: TaskStatus;
  assignees: AssigneeState[];
  /** ISO 8601. */
  createdAt: string;
  timeoutAt?: string;
  result?: TaskResult;
  /** The latest ignored decisions (at most 100); `ignoredCount` counts them all. */
  ignored: IgnoredDecision[];
  ignoredCount: number;
  /** Runs so far: the task continues as new to keep its history short. */
  runs: number;
}

export const emailDecisionSignal = defineSignal<[EmailDecision]>('emailDecision');
export const decideUpdate = defineUpdate<TaskResult, [ApiDecision]>('decide');
export const reassignUpdate = defineUpdate<TaskState, [Assignee[]]>('reassign');
export const stateQuery = defineQuery<TaskState>('state');
