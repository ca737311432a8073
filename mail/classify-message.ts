import { simpleParser } from 'mailparser';
import { classifyMail, type Classification, type ClassifyContext } from '../domain/classify';
import { toInboundMail } from '../domain/inbound-mail';
import type { SenderVerdict } from '../domain/sender-authentication';
import { authenticateSender, type SenderAuthenticationSettings } from './authenticate-sender';

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
  senderAuthentication: SenderAuthenticationSettings;
}

export interface ClassifiedMessage {
  classification: Classification;
  /** For the log line. */
  messageId?: string;
  from?: string;
  senderAuthentication?: Pick<SenderVerdict, 'status' | 'summary' | 'checkMs'>;
}

/**
 * Parse, authenticate the sender, then classify: everything the sync learns from a message's bytes. It runs in a worker
 * thread under imap.messageBudget (see thread-pool.ts), so it takes and returns plain data only.
 */
export async function classifyMessage({
  source,
  envelope,
  settings,
  senderAuthentication,
}: MessageToClassify): Promise<ClassifiedMessage> {
  const raw = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  let mail;
  try {
    const parsed = await simpleParser(raw, {
      skipImageLinks: true,
      skipTextToHtml: true,
      skipHtmlToText: true,
    });
    // Is From the real sender? On the raw message: one From rule, then DKIM/DMARC or the trusted header.
    const authentication = await authenticateSender(raw, senderAuthentication);
    mail = toInboundMail(parsed, { ...envelope, authentication });
  } catch (err) {
    return unparseable(`cannot parse: ${(err as Error).message}`);
  }
  const { status, summary, checkMs } = mail.authentication;
  const meta = {
    messageId: mail.messageId,
    from: mail.from?.address,
    senderAuthentication: { status, summary, checkMs },
  };
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
