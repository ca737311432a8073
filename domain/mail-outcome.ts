/**
 * What the mailbox sync did with one message of the completion mailbox. Every message ends with
 * exactly one of these codes and is logged with it; all but `deferred` are removed from INBOX.
 */
export const OUTCOME_CODES = [
  // A verified decision, signalled to its task; the task may still ignore it (see its `ignored`).
  'signalled',
  // A verified decision for a task workflow that has ended or does not exist.
  'task-closed',
  // The rest are rejections: the message decides nothing.
  'no-token',
  'ambiguous',
  'bad-signature',
  'expired',
  'sender-mismatch',
  'not-whitelisted',
  'auto-reply',
  'oversized',
  'unparseable',
  // Reading it took longer than imap.messageBudget, or more memory than one message may use.
  'too-complex',
  // Its From domain is not authenticated (DKIM/DMARC, or the trusted Authentication-Results).
  'unauthenticated',
  // Kept in INBOX for a later run: its sender could not be authenticated yet (DNS trouble).
  'deferred',
] as const;
export type OutcomeCode = (typeof OUTCOME_CODES)[number];

/** Why a message decides nothing. */
export type RejectCode = Exclude<OutcomeCode, 'signalled' | 'task-closed' | 'deferred'>;
