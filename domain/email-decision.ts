import type { Action } from './token';

/**
 * A decision read from a verified reply: what classification returns and what the mailbox sync
 * signals, as it is, to the task workflow the token names.
 */
export interface EmailDecision {
  /** The run the answered request came from; another run of the same task id ignores it. */
  runId: string;
  action: Action;
  /** The verified sender, equal to the token's recipient. */
  sender: string;
  comment: string;
  /** Message-ID of the reply, else `uidvalidity:uid`: the idempotency key. */
  messageId: string;
  /** When the IMAP server received the reply, ISO 8601. */
  receivedAt: string;
}
