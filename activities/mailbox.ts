import { ApplicationFailure } from '@temporalio/common';
import { heartbeat } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { ClassifyContext } from '../domain/classify';
import type { EmailDecision } from '../domain/email-decision';
import type { RejectCode } from '../domain/mail-outcome';
import { asciiLowerCase } from '../domain/ascii-case';
import type { SigningKey } from '../domain/token';
import type { ClassifiedMessage, MessageToClassify } from '../mail/classify-message';
import { closeImap, ImapError, openImap } from '../mail/imap';
import { createThreadPool, type ThreadPool } from '../mail/thread-pool';

export type MessageClassifier = ThreadPool<MessageToClassify, ClassifiedMessage>;

export interface MailboxDeps {
  config: Config;
  keys: SigningKey[];
  log: Logger;
  classifier: MessageClassifier;
}

/** What the sync read from one message: a decision for a task workflow, or why it decides nothing. */
export type SyncedMessage = { uid: number; messageId?: string } & (
  | { outcome: 'decision'; workflowId: string; decision: EmailDecision }
  | { outcome: RejectCode }
  /** Left in INBOX for a later run: its sender could not be authenticated yet (DNS trouble). */
  | { outcome: 'deferred' }
);

export interface MailBatch {
  /** UIDVALIDITY of INBOX when read; removal checks it so it never deletes other mail. */
  uidValidity: string;
  /** The messages read, oldest first; each is removed after the workflow has acted on it. */
  messages: SyncedMessage[];
  /** INBOX held more than this batch. */
  more: boolean;
}

/** A batch when the workflow names no size (runs recorded before sizes were passed). */
const DEFAULT_BATCH_SIZE = 25;
/** The largest batch a run may ask for: its classification must fit CLASSIFY_TIME_PER_BATCH_MS. */
export const MAX_BATCH_SIZE = 200;

/** Which messages a batch is: the oldest `size` of INBOX whose UID is above `afterUid`. */
export interface BatchRequest {
  /** Read only messages with a larger UID (those before it are being handled by this run). */
  afterUid?: number;
  /** UIDVALIDITY the run read so far: if INBOX's changed, the batch is empty and the run ends. */
  uidValidity?: string;
  size?: number;
}
/**
 * No message starts classifying after this much of a batch: with imap.messageBudget at most 30s
 * and the IMAP session, the batch stays inside fetchMailBatch's 2-minute timeout; the rest stays in
 * INBOX for the next batch.
 */
const CLASSIFY_TIME_PER_BATCH_MS = 60_000;
/**
 * Two threads: a message that runs to its deadline holds up one, the other keeps reading the
 * batch; and mail can never take more than two cores from the worker.
 */
const CLASSIFIER_THREADS = 2;
/** Heap per thread: a 1 MB message needs a few tens of MB to parse. */
const CLASSIFIER_HEAP_MB = 256;

/** The worker threads that parse and classify mail; the worker closes them when it stops. */
export function createMessageClassifier(config: Config): MessageClassifier {
  return createThreadPool({
    script: require.resolve('../mail/classify-thread'),
    size: CLASSIFIER_THREADS,
    deadlineMs: config.imap.messageBudget,
    maxHeapMb: CLASSIFIER_HEAP_MB,
  });
}

/** Keeps the activity's heartbeat going during `work`, whatever it awaits. */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const beating = setInterval(() => heartbeat(), 5_000);
  try {
    return await work();
  } finally {
    clearInterval(beating);
  }
}

export function createMailboxActivities({ config, keys, log, classifier }: MailboxDeps) {
  const { imap } = config;
  const ownAddresses = [
    ...new Set(
      [imap.fromAddress, imap.user, config.smtp.from?.address ?? imap.fromAddress].map(asciiLowerCase),
    ),
  ];

  function session<T>(work: (client: Awaited<ReturnType<typeof openImap>>) => Promise<T>): Promise<T> {
    // Connecting and deleting do not report progress by themselves: keep the heartbeat going.
    return heartbeating(async () => {
      let client;
      try {
        client = await openImap(imap, { log, mailDebug: config.log.mailDebug });
      } catch (err) {
        const error = err as ImapError;
        log.error({ kind: error.kind }, error.message);
        throw ApplicationFailure.retryable(
          error.message,
          error.kind === 'authentication' ? 'ImapAuthenticationFailed' : 'ImapUnavailable',
        );
      }
      try {
        return await work(client);
      } finally {
        await closeImap(client);
      }
    });
  }

  const reject = (
    uid: number,
    outcome: RejectCode,
    reason: string,
    meta: { messageId?: string; from?: string } = {},
  ): SyncedMessage => {
    log.info({ outcome, reason, uid, ...meta }, 'mail rejected');
    return { uid, messageId: meta.messageId, outcome };
  };

  /** Parses and classifies one message off this thread, under imap.messageBudget. */
  async function classify(
    source: Buffer,
    envelope: MessageToClassify['envelope'],
    settings: ClassifyContext,
    head: { messageId?: string; from?: string },
  ): Promise<SyncedMessage> {
    const { senderAuthentication } = config;
    const result = await classifier.run({ source, envelope, settings, senderAuthentication });
    if (!result.ok) {
      const outcome = result.reason === 'failed' ? 'unparseable' : 'too-complex';
      return reject(envelope.uid, outcome, `cannot read it: ${result.message}`, head);
    }
    const { classification, ...meta } = result.value;
    if (classification.outcome !== 'decision') {
      const age = Date.now() - envelope.receivedAt;
      if (classification.temporary && age < senderAuthentication.retryTemporaryErrorsFor) {
        log.info(
          { outcome: 'deferred', reason: classification.reason, uid: envelope.uid, ...meta },
          'mail kept for a later run',
        );
        return { uid: envelope.uid, messageId: meta.messageId, outcome: 'deferred' };
      }
      return reject(envelope.uid, classification.outcome, classification.reason, meta);
    }
    const { workflowId, decision } = classification;
    log.debug({ ...meta, uid: envelope.uid, workflowId, action: decision.action }, 'decision read');
    return { uid: envelope.uid, messageId: decision.messageId, outcome: 'decision', workflowId, decision };
  }

  return {
    /** Reads the oldest batch of INBOX and classifies it; oversized mail is never downloaded. */
    async fetchMailBatch({
      afterUid = 0,
      uidValidity: expected,
      size,
    }: BatchRequest = {}): Promise<MailBatch> {
      const batchSize = Math.min(Math.max(1, size ?? DEFAULT_BATCH_SIZE), MAX_BATCH_SIZE);
      const read = await session(async (client) => {
        const lock = await client.getMailboxLock('INBOX');
        try {
          const mailbox = client.mailbox;
          if (!mailbox) throw new Error('INBOX is not selected');
          const uidValidity = String(mailbox.uidValidity);
          const none = { uidValidity, more: false, heads: [], sources: new Map<number, Buffer>() };
          if (expected !== undefined && expected !== uidValidity) {
            log.warn(
              { uidValidity, expected },
              'INBOX UIDVALIDITY changed during the run: it ends here; the next run reads INBOX again',
            );
            return none;
          }
          if (mailbox.exists === 0) return none;
          // `N:*` always matches the last message, even below N: keep only the UIDs asked for.
          const found = (await client.search({ uid: `${afterUid + 1}:*` }, { uid: true })) || [];
          const uids = found.filter((uid) => uid > afterUid).sort((a, b) => a - b);
          if (uids.length === 0) return none;
          const heads: {
            uid: number;
            size: number;
            internalDate?: Date;
            messageId?: string;
            from?: string;
          }[] = [];
          const range = uids.slice(0, batchSize).join(',');
          for await (const m of client.fetch(
            range,
            { uid: true, size: true, internalDate: true, envelope: true },
            { uid: true },
          )) {
            heads.push({
              uid: m.uid,
              size: m.size ?? 0,
              internalDate: m.internalDate instanceof Date ? m.internalDate : undefined,
              messageId: m.envelope?.messageId,
              from: m.envelope?.from?.[0]?.address,
            });
          }
          const wanted = heads.filter((h) => h.size <= imap.maxMessageBytes).map((h) => h.uid);
          const sources = new Map<number, Buffer>();
          if (wanted.length > 0) {
            for await (const m of client.fetch(
              wanted.join(','),
              { uid: true, source: true },
              { uid: true },
            )) {
              if (m.source) sources.set(m.uid, m.source);
              heartbeat();
            }
          }
          heads.sort((a, b) => a.uid - b.uid);
          return { uidValidity, more: uids.length > batchSize, heads, sources };
        } finally {
          lock.release();
        }
      });

      const settings: ClassifyContext = { keys, whitelist: config.whitelist, ownAddresses, now: Date.now() };
      const started = Date.now();
      const results = new Map<number, SyncedMessage>();
      let next = 0;
      // One lane per thread, each taking the next message when its last is done.
      const lane = async (): Promise<void> => {
        while (next < read.heads.length && Date.now() - started < CLASSIFY_TIME_PER_BATCH_MS) {
          const head = read.heads[next++]!;
          const meta = { messageId: head.messageId, from: head.from };
          const source = read.sources.get(head.uid);
          if (head.size > imap.maxMessageBytes) {
            const reason = `message of ${head.size} bytes exceeds imap.maxMessageBytes (${imap.maxMessageBytes})`;
            results.set(head.uid, reject(head.uid, 'oversized', reason, meta));
          } else if (!source) {
            results.set(
              head.uid,
              reject(head.uid, 'unparseable', 'the server returned no message body', meta),
            );
          } else {
            const envelope = {
              uidValidity: read.uidValidity,
              uid: head.uid,
              size: head.size,
              receivedAt: (head.internalDate ?? new Date()).getTime(),
            };
            results.set(head.uid, await classify(source, envelope, settings, meta));
          }
        }
      };
      await heartbeating(() => Promise.all(Array.from({ length: classifier.size }, lane)));
      const messages = read.heads.flatMap((head) => results.get(head.uid) ?? []);
      if (messages.length < read.heads.length)
        log.warn(
          { read: messages.length, left: read.heads.length - messages.length },
          'batch took too long: the rest of it stays in INBOX for the next batch',
        );
      return {
        uidValidity: read.uidValidity,
        more: read.more || messages.length < read.heads.length,
        messages,
      };
    },

    /** Deletes processed mail, or moves it to imap.auditFolder; skips it if UIDVALIDITY changed. */
    async removeMail({
      uidValidity,
      uids,
    }: {
      uidValidity: string;
      uids: number[];
    }): Promise<{ removed: number }> {
      if (uids.length === 0) return { removed: 0 };
      return session(async (client) => {
        const lock = await client.getMailboxLock('INBOX');
        try {
          if (String(client.mailbox && client.mailbox.uidValidity) !== uidValidity) {
            log.warn(
              { uidValidity, uids: uids.length },
              'INBOX UIDVALIDITY changed since it was read: not removing; the next run reads it again',
            );
            return { removed: 0 };
          }
          const range = uids.join(',');
          if (imap.auditFolder) {
            await client.mailboxCreate(imap.auditFolder).catch((err: { serverResponseCode?: string }) => {
              if (err.serverResponseCode !== 'ALREADYEXISTS') throw err;
            });
            if (!(await client.messageMove(range, imap.auditFolder, { uid: true })))
              throw new Error(`could not move mail to ${imap.auditFolder}`);
          } else if (!(await client.messageDelete(range, { uid: true }))) {
            throw new Error('the IMAP server refused to delete processed mail');
          }
          log.debug({ removed: uids.length, auditFolder: imap.auditFolder }, 'processed mail removed');
          return { removed: uids.length };
        } finally {
          lock.release();
        }
      });
    },
  };
}
