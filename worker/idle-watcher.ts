import { setTimeout as sleep } from 'node:timers/promises';
import type { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { closeImap, openImap } from '../mail/imap';

export interface IdleWatcher {
  /** Ends the session and the reconnect loop; leaves no socket or timer behind. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 60_000;

/**
 * Holds an IMAP IDLE session on INBOX and calls `onMail` when mail lands, so replies are handled
 * within about a second; reconnects with backoff after any drop. Scheduled polling stays the
 * safety net, so a missed notification only costs one interval.
 */
export function watchInbox(
  config: Config,
  log: Logger,
  onMail: () => Promise<void>,
  /** Told when the session is up (INBOX selected, IDLE next) and each time it is lost. */
  onConnection: (connected: boolean) => void = () => {},
): IdleWatcher {
  const stopping = new AbortController();
  const stopped = () => stopping.signal.aborted;
  let client: ImapFlow | undefined;

  const notify = () => {
    if (stopped()) return;
    onMail().catch((err: unknown) =>
      log.warn({ err: (err as Error).message }, 'could not trigger a mailbox sync'),
    );
  };

  const session = async (): Promise<void> => {
    const connection = await openImap(config.imap, {
      log,
      mailDebug: config.log.mailDebug,
      idle: true,
      signal: stopping.signal,
    });
    client = connection;
    try {
      await watch(connection);
    } finally {
      client = undefined;
      await closeImap(connection);
    }
  };

  const watch = async (client: ImapFlow): Promise<void> => {
    client.on('exists', (event: { count: number; prevCount: number }) => {
      if (event.count > event.prevCount) notify();
    });
    const mailbox = await client.mailboxOpen('INBOX', { readOnly: true });
    log.info({ exists: mailbox.exists }, 'watching INBOX with IMAP IDLE');
    onConnection(true);
    if (mailbox.exists > 0) notify();
    // idle() returns whenever IDLE is interrupted; go back to it until the connection is gone.
    while (!stopped() && client.usable) await client.idle();
  };

  const loop = async () => {
    let backoff = 1000;
    while (!stopped()) {
      const started = Date.now();
      try {
        await session();
      } catch (err) {
        if (!stopped()) log.warn({ err: (err as Error).message }, 'IMAP IDLE session failed');
      }
      if (stopped()) break;
      onConnection(false);
      if (Date.now() - started > 30_000) backoff = 1000;
      log.info({ retryInMs: backoff }, 'IMAP IDLE reconnecting');
      // Aborting clears the timer too: a pending backoff must not hold a stopping process open.
      await sleep(backoff, undefined, { signal: stopping.signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  };
  const running = loop();

  return {
    async stop() {
      stopping.abort();
      // No LOGOUT round trip: on a half-open connection it would wait for the socket timeout.
      client?.close();
      await running;
    },
  };
}
