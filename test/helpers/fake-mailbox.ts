import type { createMailboxActivities, MailBatch, SyncedMessage } from '../../activities/mailbox';

type MailboxActivities = ReturnType<typeof createMailboxActivities>;

/**
 * The mailbox sync's activities without IMAP: INBOX is a list of messages as classification left
 * them. A batch is the oldest `batchSize` messages; removal deletes the given UIDs, so `deferred`
 * mail that is never removed stays at the head of INBOX, as on the real server.
 */
export class FakeMailbox {
  private inbox: SyncedMessage[] = [];
  private uidValidity = '1';
  /** The UIDs of each `removeMail` call, in order. */
  readonly removed: number[][] = [];

  constructor(private readonly batchSize: number) {}

  /** Replaces INBOX with these messages, oldest first. */
  fill(uidValidity: string, messages: SyncedMessage[]): void {
    this.uidValidity = uidValidity;
    this.inbox = [...messages];
  }

  /** The UIDs INBOX holds now. */
  uids(): number[] {
    return this.inbox.map((m) => m.uid);
  }

  activities(): Pick<MailboxActivities, 'fetchMailBatch' | 'removeMail'> {
    return {
      fetchMailBatch: (): Promise<MailBatch> => {
        const messages = this.inbox.slice(0, this.batchSize);
        return Promise.resolve({
          uidValidity: this.uidValidity,
          messages,
          more: this.inbox.length > messages.length,
        });
      },
      removeMail: ({ uidValidity, uids }): Promise<{ removed: number }> => {
        this.removed.push(uids);
        if (uidValidity !== this.uidValidity) return Promise.resolve({ removed: 0 });
        const before = this.inbox.length;
        this.inbox = this.inbox.filter((m) => !uids.includes(m.uid));
        return Promise.resolve({ removed: before - this.inbox.length });
      },
    };
  }
}
