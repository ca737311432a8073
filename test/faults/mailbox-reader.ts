import { simpleParser, type ParsedMail } from 'mailparser';
import type { Config } from '../../config/schema';
import { imapFor } from '../helpers/env';

/** Reads a test account's INBOX as it fills, each message once: for hundreds of messages. */
export class MailboxReader {
  private lastUid = 0;

  constructor(
    private readonly config: Config,
    readonly address: string,
  ) {}

  /** The messages that arrived since the last call, parsed, oldest first. */
  async readNew(): Promise<ParsedMail[]> {
    const imap = imapFor(this.config, this.address);
    await imap.connect();
    const sources: Buffer[] = [];
    try {
      const lock = await imap.getMailboxLock('INBOX');
      try {
        if (imap.mailbox && imap.mailbox.exists > 0) {
          // "n:*" also returns the newest message when its UID is below n: hence the filter.
          for await (const m of imap.fetch(
            `${this.lastUid + 1}:*`,
            { uid: true, source: true },
            { uid: true },
          )) {
            if (m.uid <= this.lastUid || !m.source) continue;
            this.lastUid = Math.max(this.lastUid, m.uid);
            sources.push(m.source);
          }
        }
      } finally {
        lock.release();
      }
    } finally {
      await imap.logout();
    }
    return Promise.all(sources.map((source) => simpleParser(source)));
  }
}
