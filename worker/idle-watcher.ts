import type { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { closeImap, openImap } from '../mail/imap';

export interface IdleWatcher {
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 60_000;

/**
 * Holds an IMAP IDLE session on INBOX and calls `onMail` when mail lands, so replies are handled
 * within about a second; reconnects with backoff after any drop. Scheduled polling stays the
 * safety net, so a missed notification only costs one interval.
 */
export function watchInbox(config: Config, log: Logger, onMail: () => Promise<void>): IdleWatcher {
  let stopped = false;
  let client: ImapFlow | undefined;
  let wake: (() => void) | undefined;

  const notify = () => {
    onMail().catch((err: unknown) =>
      log.warn({ err: (err as Error).message }, 'could not trigger a mailbox sync'),
    );
  };

  const session = async (): Promise<void> => {
    const connection = await openImap(config.imap, { log, mailDebug: config.log.mailDebug, idle: true });
    client = connection;
    try {
      await watch(connection);
    } finally {
      await closeImap(connection);
    }
  };

  const watch = async (client: ImapFlow): Promise<void> => {
    client.on('exists', (event: { count: number; prevCount: number }) => {
      if (event.count > event.prevCount) notify();
    });
    const mailbox = await client.mailboxOpen('INBOX', { readOnly: true });
    log.info({ exists: mailbox.exists }, 'watching INBOX with IMAP IDLE');
    if (mailbox.exists > 0) notify();
    // idle() returns whenever IDLE is interrupted; go back to it until the connection is gone.
    while (!stopped && client.usable) await client.idle();
  };

  const loop = async () => {
    let backoff = 1000;
    while (!stopped) {
      const started = Date.now();
      try {
        await session();
      } catch (err) {
        if (!stopped) log.warn({ err: (err as Error).message }, 'IMAP IDLE session failed');
      }
      if (stopped) break;
      if (Date.now() - started > 30_000) backoff = 1000;
      log.info({ retryInMs: backoff }, 'IMAP IDLE reconnecting');
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, backoff);
      });
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  };
  const running = loop();

  return {
    async stop() {
      stopped = true;
      wake?.();
      if (client) await closeImap(client);
      await running;
    },
  };
}
