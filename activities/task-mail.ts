import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { renderConfirmationEmail, renderRequestEmail, type RenderedEmail } from '../domain/request-email';
import { signToken, type SigningKey } from '../domain/token';
import { checkAssigneeAddresses } from '../domain/assignees';
import type { Assignee, TaskResult } from '../workflows/definitions';
import { isPermanentRejection } from '../mail/smtp';
import { asciiLowerCase } from '../domain/ascii-case';

export interface TaskMailDeps {
  config: Config;
  transport: Transporter;
  keys: SigningKey[];
  log: Logger;
}

export interface RequestMail {
  workflowId: string;
  /** The task's first execution run id: tokens and Message-IDs belong to this run only. */
  runId: string;
  taskId: string;
  title: string;
  description?: string;
  requester?: string;
  context?: Record<string, string>;
  recipient: Assignee;
  /** Identifies this request within the task; the Message-ID derives from it, so retries reuse it. */
  requestKey: string;
  issuedAt: number;
  /** Token expiry; without it, `issuedAt + remoteCompletion.tokenLifetime`. */
  expiresAt?: number;
  reminder: boolean;
}

export interface ConfirmationMail {
  recipient: Assignee;
  runId: string;
  taskId: string;
  title: string;
  result: TaskResult;
}

export function createTaskMailActivities({ config, transport, keys, log }: TaskMailDeps) {
  const completionAddress = config.imap.fromAddress;
  const from = config.smtp.from ?? completionAddress;

  async function send(to: Assignee, email: RenderedEmail, messageId: string) {
    try {
      await transport.sendMail({
        from,
        to: to.name ? { name: to.name, address: to.address } : to.address,
        replyTo: completionAddress,
        subject: email.subject,
        text: email.text,
        html: email.html,
        messageId,
        // Tells vacation responders not to answer, so they cannot loop with the mailbox sync.
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
      });
    } catch (err) {
      const reason = `${to.address}: ${(err as Error).message}`;
      if (isPermanentRejection(err)) throw ApplicationFailure.nonRetryable(reason, 'PermanentDeliveryError');
      log.warn({ to: to.address, err: (err as Error).message }, 'SMTP send failed, will retry');
      // Only the message travels into workflow history: the SMTP error object stays here.
      throw ApplicationFailure.retryable(reason, 'SmtpSendFailed');
    }
  }

  return {
    async sendRequest(request: RequestMail): Promise<{ messageId: string }> {
      const recipient = asciiLowerCase(request.recipient.address);
      const expiresAt = request.expiresAt ?? request.issuedAt + config.remoteCompletion.tokenLifetime;
      const token = (action: 'complete' | 'fail') =>
        signToken(
          { workflowId: request.workflowId, runId: request.runId, action, recipient, expiresAt },
          keys,
        );
      const messageId = stableMessageId(
        `${request.workflowId}\0${request.runId}\0request\0${request.requestKey}`,
        from,
      );
      const email = renderRequestEmail({
        taskId: request.taskId,
        workflowId: request.workflowId,
        title: request.title,
        description: request.description,
        recipient: request.recipient,
        completionAddress,
        completeToken: token('complete'),
        failToken: token('fail'),
        expiresAt,
        requester: request.requester,
        context: request.context,
        reminder: request.reminder,
        messageId,
      });
      await send(request.recipient, email, messageId);
      log.info(
        { taskId: request.taskId, to: recipient, messageId, reminder: request.reminder },
        'request sent',
      );
      return { messageId };
    },

    async sendConfirmation(confirmation: ConfirmationMail): Promise<void> {
      const { result } = confirmation;
      const email = renderConfirmationEmail({
        title: confirmation.title,
        taskId: confirmation.taskId,
        outcome: result.outcome,
        decidedBy: result.decidedBy,
        comment: result.comment,
        channel: result.channel,
        decidedAt: Date.parse(result.decidedAt),
      });
      const { recipient } = confirmation;
      await send(
        recipient,
        email,
        stableMessageId(
          `${confirmation.taskId}\0${confirmation.runId}\0confirmation\0${recipient.address}`,
          from,
        ),
      );
      log.info(
        { taskId: confirmation.taskId, outcome: result.outcome, to: recipient.address },
        'confirmation sent',
      );
    },

    /** Refuses addresses that are malformed or, with whitelisting on, outside the listed domains. */
    // eslint-disable-next-line @typescript-eslint/require-await
    async checkAssignees(addresses: string[]): Promise<void> {
      const problem = checkAssigneeAddresses(addresses, config.whitelist);
      if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidAssignee');
    },
  };
}

function stableMessageId(key: string, fromAddress: string): string {
  const domain = fromAddress.split('@')[1] ?? 'remote-completion.invalid';
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}.rc@${domain}>`;
}
