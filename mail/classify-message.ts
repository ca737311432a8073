import { simpleParser } from 'mailparser';
import { classifyMail, type Classification, type ClassifyContext } from '../domain/classify';
import { toInboundMail } from '../domain/inbound-mail';

/** One message of INBOX as the IMAP server describes it, besides its source. */
export interface MessageEnvelope {
  uidValidity: string;
  uid: number;
  size: number;
  /** When the server received it (INTERNALDATE), epoch milliseconds. */
  receivedAt: number;
}

export interface MessageToClassify {
  source: Uint8Array;
  envelope: MessageEnvelope;
  /** Plain data, so that it crosses to a worker thread; `now` is the time of the sync. */
  settings: ClassifyContext;
}

export interface ClassifiedMessage {
  classification: Classification;
  /** For the log line. */
  messageId?: string;
  from?: string;
}

/**
 * Parse, then classify: everything the sync learns from a message's bytes. It runs in a worker
 * thread under imap.messageBudget (see thread-pool.ts), so it takes and returns plain data only.
 */
export async function classifyMessage({
  source,
  envelope,
  settings,
}: MessageToClassify): Promise<ClassifiedMessage> {
  let mail;
  try {
    const parsed = await simpleParser(Buffer.from(source.buffer, source.byteOffset, source.byteLength), {
      skipImageLinks: true,
      skipTextToHtml: true,
      skipHtmlToText: true,
    });
    mail = toInboundMail(parsed, envelope);
  } catch (err) {
    return unparseable(`cannot parse: ${(err as Error).message}`);
  }
  const meta = { messageId: mail.messageId, from: mail.from?.address };
  if (!mail.from?.address) return { ...unparseable('no sender address in From'), ...meta };
  try {
    // Expiry counts from when the server received the reply, not from when a sync read it.
    const now = Math.min(settings.now, mail.receivedAt);
    return { classification: classifyMail(mail, { ...settings, now }), ...meta };
  } catch (err) {
    return { ...unparseable(`cannot classify: ${(err as Error).message}`), ...meta };
  }
}

const unparseable = (reason: string): ClassifiedMessage => ({
  classification: { outcome: 'unparseable', reason },
});
