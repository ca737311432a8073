import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { mailProtocolLogger } from './protocol-trace';

/** An IMAP failure explained for the person who must fix it; `authentication` for a wrong login. */
export class ImapError extends Error {
  override name = 'ImapError';
  constructor(
    message: string,
    readonly kind: 'authentication' | 'connection' | 'mailbox',
  ) {
    super(message);
  }
}

export interface ImapOptions {
  log: Logger;
  mailDebug?: boolean;
  /** Keep IDLE running on the selected mailbox (the watcher); off for short sessions. */
  idle?: boolean;
}

/** Connects and logs in; imapflow never reconnects, so every session gets a new client. */
export async function openImap(
  imap: Config['imap'],
  { log, mailDebug = false, idle = false }: ImapOptions,
): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: imap.host,
    port: imap.port,
    secure: imap.tls,
    tls: imap.ca ? { ca: readFileSync(imap.ca) } : undefined,
    auth: { user: imap.user, pass: imap.password },
    logger: mailDebug ? mailProtocolLogger(log.child({ module: 'imap-protocol' })) : false,
    disableAutoIdle: !idle,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: idle ? 5 * 60_000 : 60_000,
  });
  // imapflow reports errors as events after connect; unhandled they would crash the worker.
  client.on('error', (err: Error) => log.warn({ err: err.message }, 'IMAP connection error'));
  try {
    await client.connect();
  } catch (err) {
    throw describeImapError(err, imap);
  }
  return client;
}

function describeImapError(err: unknown, imap: Pick<Config['imap'], 'host' | 'port' | 'user'>): ImapError {
  const where = `${imap.host}:${imap.port}`;
  const e = err as {
    authenticationFailed?: boolean;
    serverResponseCode?: string;
    code?: string;
    message?: string;
  };
  if (e.authenticationFailed && e.serverResponseCode === 'UNAVAILABLE') {
    return new ImapError(
      `IMAP server at ${where} could not check the login right now (UNAVAILABLE): see its logs`,
      'connection',
    );
  }
  if (e.authenticationFailed) {
    return new ImapError(
      `IMAP login as ${imap.user} at ${where} failed: wrong imap.user or imap.password${e.serverResponseCode ? ` (${e.serverResponseCode})` : ''}`,
      'authentication',
    );
  }
  return new ImapError(
    `cannot connect to IMAP at ${where}: ${e.code ?? e.message ?? String(err)}`,
    'connection',
  );
}

export async function closeImap(client: ImapFlow): Promise<void> {
  try {
    await client.logout();
  } catch {
    client.close();
  }
}
