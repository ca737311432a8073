import { ApplicationFailure } from '@temporalio/common';
import { heartbeat } from '@temporalio/activity';
import { simpleParser } from 'mailparser';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { classifyMail, type RejectCode } from '../domain/classify';
import { toInboundMail } from '../domain/inbound-mail';
import type { SigningKey } from '../domain/token';
import type { EmailDecision } from '../workflows/definitions';
import { closeImap, ImapError, openImap } from '../mail/imap';

export interface MailboxDeps {
  config: Config;
  keys: SigningKey[];
  log: Logger;
}

export interface SyncedMessage {
  uid: number;
  /** Set when the message is a verified decision for this task workflow. */
  decision?: EmailDecision & { workflowId: string };
  rejected?: RejectCode;
}

export interface MailBatch {
  /** UIDVALIDITY of INBOX when read; removal checks it so it never deletes other mail. */
  uidValidity: string;
  messages: SyncedMessage[];
  /** INBOX held more than this batch. */
  more: boolean;
}

const BATCH_SIZE = 25;

export function createMailboxActivities({ config, keys, log }: MailboxDeps) {
  const { imap } = config;
  const ownAddresses = [
    ...new Set(
      [imap.fromAddress, imap.user, config.smtp.from?.address ?? imap.fromAddress].map((a) =>
        a.toLowerCase(),
      ),
    ),
  ];

  async function session<T>(work: (client: Awaited<ReturnType<typeof openImap>>) => Promise<T>): Promise<T> {
    // Connecting and deleting do not report progress by themselves: keep the heartbeat going.
    const beating = setInterval(() => heartbeat(), 5_000);
    try {
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
    } finally {
      clearInterval(beating);
    }
  }

  const reject = (
    uid: number,
    outcome: RejectCode,
    reason: string,
    meta: Record<string, unknown> = {},
  ): SyncedMessage => {
    log.info({ outcome, reason, uid, ...meta }, 'mail rejected');
    return { uid, rejected: outcome };
  };

  return {
    /** Reads the oldest batch of INBOX and classifies it; oversized mail is never downloaded. */
    async fetchMailBatch(): Promise<MailBatch> {
      const read = await session(async (client) => {
        const lock = await client.getMailboxLock('INBOX');
        try {
          const mailbox = client.mailbox;
          if (!mailbox) throw new Error('INBOX is not selected');
          const uidValidity = String(mailbox.uidValidity);
          if (mailbox.exists === 0)
            return { uidValidity, more: false, heads: [], sources: new Map<number, Buffer>() };
          const heads: {
            uid: number;
            size: number;
            internalDate?: Date;
            messageId?: string;
            from?: string;
          }[] = [];
          const range = `1:${Math.min(BATCH_SIZE, mailbox.exists)}`;
          for await (const m of client.fetch(range, {
            uid: true,
            size: true,
            internalDate: true,
            envelope: true,
          })) {
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
          return { uidValidity, more: mailbox.exists > heads.length, heads, sources };
        } finally {
          lock.release();
        }
      });

      const messages: SyncedMessage[] = [];
      for (const head of read.heads) {
        heartbeat();
        if (head.size > imap.maxMessageBytes) {
          const reason = `message of ${head.size} bytes exceeds imap.maxMessageBytes (${imap.maxMessageBytes})`;
          messages.push(
            reject(head.uid, 'oversized', reason, { messageId: head.messageId, from: head.from }),
          );
          continue;
        }
        const source = read.sources.get(head.uid);
        if (!source) {
          messages.push(reject(head.uid, 'unparseable', 'the server returned no message body'));
          continue;
        }
        let mail;
        try {
          const parsed = await simpleParser(source, {
            skipImageLinks: true,
            skipTextToHtml: true,
            skipHtmlToText: true,
          });
          mail = toInboundMail(parsed, {
            uid: head.uid,
            size: head.size,
            receivedAt: (head.internalDate ?? new Date()).getTime(),
          });
        } catch (err) {
          messages.push(reject(head.uid, 'unparseable', `cannot parse: ${(err as Error).message}`));
          continue;
        }
        const meta = { messageId: mail.messageId, from: mail.from?.address };
        if (!mail.from?.address) {
          messages.push(reject(head.uid, 'unparseable', 'no sender address in From', meta));
          continue;
        }
        let result;
        try {
          // Expiry counts from when the server received the reply, not from when a sync read it.
          const now = Math.min(Date.now(), mail.receivedAt);
          result = classifyMail(mail, { keys, whitelist: config.whitelist, ownAddresses, now });
        } catch (err) {
          // One poison message must never fail every sync run: it is rejected and removed.
          messages.push(reject(head.uid, 'unparseable', `cannot classify: ${(err as Error).message}`, meta));
          continue;
        }
        if (result.outcome !== 'decision') {
          messages.push(reject(head.uid, result.outcome, result.reason, meta));
          continue;
        }
        const { decision } = result;
        log.debug(
          { ...meta, uid: head.uid, workflowId: decision.workflowId, action: decision.action },
          'decision read',
        );
        messages.push({
          uid: head.uid,
          decision: {
            workflowId: decision.workflowId,
            runId: decision.runId,
            runTag: decision.runTag,
            action: decision.action,
            sender: decision.sender,
            comment: decision.comment,
            messageId: mail.messageId ?? `${read.uidValidity}:${head.uid}`,
            receivedAt: new Date(decision.receivedAt).toISOString(),
          },
        });
      }
      return { uidValidity: read.uidValidity, more: read.more, messages };
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
