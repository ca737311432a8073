import type { Config } from '../../../config/schema';
import { COMPLETION, imapFor } from '../../helpers/env';

export interface InboxEntry {
  uid: number;
  size: number;
  messageId?: string;
  /** The envelope sender Dovecot wrote into Return-Path at delivery. */
  returnPath?: string;
}

/** What the completion mailbox's INBOX holds now, oldest first. */
export async function listInbox(config: Config): Promise<InboxEntry[]> {
  const imap = imapFor(config, COMPLETION);
  await imap.connect();
  try {
    const lock = await imap.getMailboxLock('INBOX');
    const entries: InboxEntry[] = [];
    try {
      if (imap.mailbox && imap.mailbox.exists > 0) {
        const query = { uid: true, size: true, envelope: true, headers: ['return-path'] };
        for await (const m of imap.fetch('1:*', query)) {
          const returnPath = /<([^<>]*)>/.exec(m.headers?.toString('utf8') ?? '')?.[1];
          entries.push({ uid: m.uid, size: m.size ?? 0, messageId: m.envelope?.messageId, returnPath });
        }
      }
    } finally {
      lock.release();
    }
    return entries;
  } finally {
    await imap.logout();
  }
}

/** Whether the account's INBOX holds a message with this Message-ID. */
export async function hasMessage(config: Config, address: string, messageId: string): Promise<boolean> {
  const imap = imapFor(config, address);
  await imap.connect();
  try {
    const lock = await imap.getMailboxLock('INBOX');
    try {
      const found = await imap.search({ header: { 'message-id': messageId } }, { uid: true });
      return Array.isArray(found) && found.length > 0;
    } finally {
      lock.release();
    }
  } finally {
    await imap.logout();
  }
}
