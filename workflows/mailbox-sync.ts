import { getExternalWorkflowHandle, log, patched, proxyActivities } from '@temporalio/workflow';
import type * as mailboxActivities from '../activities/mailbox';
import type { MailBatch, SyncedMessage } from '../activities/mailbox';
import type { OutcomeCode } from '../domain/mail-outcome';
import { emailDecisionSignal } from './definitions';

type MailboxActivities = ReturnType<typeof mailboxActivities.createMailboxActivities>;

// Network and login errors are retried with backoff; a run that cannot reach IMAP ends and the
// next scheduled run tries again, so a broken mailbox never blocks the schedule.
const { fetchMailBatch, removeMail } = proxyActivities<MailboxActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/** What became of one message of the completion mailbox. */
export interface MessageOutcome {
  code: OutcomeCode;
  /** UID in INBOX when it was read. */
  uid: number;
  /** Its Message-ID (else `uidvalidity:uid` for a decision), when known. */
  messageId?: string;
  /** The task workflow a decision was for. */
  workflowId?: string;
}

/** The run's result, as the Temporal UI shows it. */
export interface SyncSummary {
  messages: number;
  batches: number;
  /** Messages per outcome code. */
  counts: Partial<Record<OutcomeCode, number>>;
  /** The first MAX_LISTED messages, in the order they were read; `counts` covers all of them. */
  outcomes: MessageOutcome[];
}

/** Bounds one run; whatever is left waits for the next run. */
const MAX_BATCHES = 50;
/** Bounds one run (the pipelined drain): about what MAX_BATCHES x 25 read before it. */
const MAX_MESSAGES = 1_250;
/** Keeps the result small: a run reads up to 50 x 25 messages. */
const MAX_LISTED = 200;
/** The first batch is small, so that signals start early; the next ones are read while it is signalled. */
const FIRST_BATCH = 25;
const NEXT_BATCHES = 100;
/**
 * Signals under way at once. Each one a workflow sends costs the server more than a client's, and
 * all of a batch at once was slower than a few lanes (dev/bench/drain.ts).
 */
const SIGNALS_IN_FLIGHT = 20;
/** Patch: the drain reads the next batch while it signals this one, and removes in the background. */
const PIPELINED_DRAIN = 'pipelined-drain';

type Summary = SyncSummary & { record(outcome: MessageOutcome): void };

/**
 * One pass over the completion mailbox: read a batch, signal each decided task, then remove the
 * batch; repeat until INBOX is drained. Mail is removed only after its signals are recorded.
 */
export async function mailboxSync(): Promise<SyncSummary> {
  const summary: Summary = {
    messages: 0,
    batches: 0,
    counts: {},
    outcomes: [],
    record(outcome) {
      this.counts[outcome.code] = (this.counts[outcome.code] ?? 0) + 1;
      if (this.outcomes.length < MAX_LISTED) this.outcomes.push(outcome);
    },
  };
  if (patched(PIPELINED_DRAIN)) await pipelinedDrain(summary);
  else await batchByBatch(summary);
  if (summary.messages > 0)
    log.info('mailbox sync done', {
      messages: summary.messages,
      batches: summary.batches,
      ...summary.counts,
    });
  const { messages, batches, counts, outcomes } = summary;
  return { messages, batches, counts, outcomes };
}

/** What became of a message: decisions are signalled to their task; the rest already have their outcome. */
async function signalDecision(message: SyncedMessage): Promise<MessageOutcome> {
  const { uid, messageId } = message;
  if (message.outcome !== 'decision') return { code: message.outcome, uid, messageId };
  const { workflowId, decision } = message;
  try {
    await getExternalWorkflowHandle(workflowId).signal(emailDecisionSignal, decision);
    return { code: 'signalled', uid, messageId, workflowId };
  } catch (err) {
    // The task is closed or gone: an outcome for this message, not a failure of the run.
    log.info('decision ignored', {
      outcome: 'task-closed',
      workflowId,
      messageId,
      by: decision.sender,
      reason: err instanceof Error ? err.message : String(err),
    });
    return { code: 'task-closed', uid, messageId, workflowId };
  }
}

/** Mail kept for a later run (sender not yet authenticated) stays in INBOX. */
const removable = (batch: MailBatch): number[] =>
  batch.messages.filter((m) => m.outcome !== 'deferred').map((m) => m.uid);

/**
 * Reads batch k+1 (by UID, after batch k) while batch k's decisions are signalled, SIGNALS_IN_FLIGHT
 * at a time, and removes batch k once they all are recorded, while batch k+1 is signalled.
 */
async function pipelinedDrain(summary: Summary): Promise<void> {
  let batch = await fetchMailBatch({ size: FIRST_BATCH });
  let removing: Promise<unknown> = Promise.resolve();
  for (;;) {
    summary.batches++;
    summary.messages += batch.messages.length;
    const lastUid = batch.messages.reduce((last, m) => Math.max(last, m.uid), 0);
    const next =
      batch.more && lastUid > 0 && summary.messages < MAX_MESSAGES
        ? fetchMailBatch({ afterUid: lastUid, uidValidity: batch.uidValidity, size: NEXT_BATCHES })
        : undefined;
    // Awaited below; until then a failure must not count as unhandled.
    next?.catch(() => undefined);
    const outcomes: MessageOutcome[] = new Array<MessageOutcome>(batch.messages.length);
    let taken = 0;
    const messages = batch.messages;
    const lane = async (): Promise<void> => {
      while (taken < messages.length) {
        const i = taken++;
        outcomes[i] = await signalDecision(messages[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SIGNALS_IN_FLIGHT, messages.length) }, lane));
    outcomes.forEach((outcome) => summary.record(outcome));
    // One removal at a time, each after its own batch's signals.
    await removing;
    const uids = removable(batch);
    removing = uids.length > 0 ? removeMail({ uidValidity: batch.uidValidity, uids }) : Promise.resolve();
    removing.catch(() => undefined);
    if (!next) break;
    batch = await next;
  }
  await removing;
}

/** The drain before PIPELINED_DRAIN, kept for runs that started with it. */
async function batchByBatch(summary: Summary): Promise<void> {
  for (let more = true; more && summary.batches < MAX_BATCHES; summary.batches++) {
    const batch = await fetchMailBatch();
    more = batch.more;
    summary.messages += batch.messages.length;
    const outcomes = await Promise.all(batch.messages.map(signalDecision));
    outcomes.forEach((outcome) => summary.record(outcome));
    const done = removable(batch);
    if (done.length === 0) break;
    await removeMail({ uidValidity: batch.uidValidity, uids: done });
  }
}
