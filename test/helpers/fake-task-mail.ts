import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ConfirmationMail, RequestMail } from '../../activities/task-mail';
import { checkAssigneeAddresses } from '../../domain/assignees';

/** What a task workflow asked of its mail activities, in the order the activities ran. */
export type MailEvent =
  | { kind: 'check'; workflowId: string; addresses: string[] }
  | { kind: 'request'; workflowId: string; to: string; requestKey: string; runId: string; reminder: boolean }
  | { kind: 'request-sent'; workflowId: string; to: string; requestKey: string }
  | { kind: 'confirmation'; workflowId: string; to: string; outcome: string };

/** A promise the test resolves: activities held on it wait until then. */
export class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
}

/**
 * The task workflow's mail activities without mail: they record each call and can be held on a
 * gate, so a test decides when an activity finishes. No SMTP server is involved.
 */
export class FakeTaskMail {
  readonly events: MailEvent[] = [];
  private readonly holds: { when: (event: MailEvent) => boolean; gate: Gate }[] = [];

  /** Calls matching `when` wait for `gate` (after they are recorded). */
  hold(when: (event: MailEvent) => boolean, gate: Gate): void {
    this.holds.push({ when, gate });
  }

  of(workflowId: string): MailEvent[] {
    return this.events.filter((e) => e.workflowId === workflowId);
  }

  activities() {
    const record = async (event: MailEvent): Promise<void> => {
      this.events.push(event);
      await Promise.all(this.holds.filter((h) => h.when(event)).map((h) => h.gate.opened));
    };
    const workflowId = () => Context.current().info.workflowExecution?.workflowId ?? '';
    return {
      checkAssignees: async (addresses: string[]): Promise<void> => {
        await record({ kind: 'check', workflowId: workflowId(), addresses });
        const problem = checkAssigneeAddresses(addresses, { enabled: false, domains: [] });
        if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidAssignee');
      },
      sendRequest: async (request: RequestMail): Promise<{ messageId: string }> => {
        const { address: to } = request.recipient;
        const { requestKey, runId, reminder } = request;
        await record({ kind: 'request', workflowId: workflowId(), to, requestKey, runId, reminder });
        this.events.push({ kind: 'request-sent', workflowId: workflowId(), to, requestKey });
        return { messageId: `<${requestKey}.fake@example.test>` };
      },
      sendConfirmation: async (confirmation: ConfirmationMail): Promise<void> => {
        await record({
          kind: 'confirmation',
          workflowId: workflowId(),
          to: confirmation.recipient.address,
          outcome: confirmation.result.outcome,
        });
      },
    };
  }
}
