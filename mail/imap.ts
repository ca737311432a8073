import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { OAuth2TokenError, oauth2TokenSource, warnOnRotation } from './oauth2-token';
import { mailProtocolLogger } from './protocol-trace';

/** An IMAP failure explained for the person who must fix it; `authentication` for a wrong login. */
export class ImapError extends Error {
  override name = 'ImapError';
  constructor(
    message: string,
    readonly kind: 'authentication' | 'connection' | 'mailbox',
    /** What to change, when the message names no setting (OAuth2); the message ends with it too. */
    readonly fix?: string,
  ) {
    super(message);
  }
}

type ImapLogin = { user: string; pass: string } | { user: string; accessToken: string };

export interface ImapOptions {
  log: Logger;
  mailDebug?: boolean;
  /** Keep IDLE running on the selected mailbox (the watcher); off for short sessions. */
  idle?: boolean;
  /** Abandons the connection attempt at once (a stopping worker) instead of waiting for its timeouts. */
  signal?: AbortSignal;
}

/**
 * Connects and logs in; imapflow never reconnects, so every session gets a new client. With
 * OAuth2, a refused token is replaced once (revoked or expired early) before the login counts as
 * refused.
 */
export async function openImap(imap: Config['imap'], options: ImapOptions): Promise<ImapFlow> {
  const { auth } = imap;
  if (auth.type !== 'oauth2') return connect(imap, { user: imap.user, pass: imap.password ?? '' }, options);
  const tokens = oauth2TokenSource(auth, 'imap.auth');
  warnOnRotation(tokens, options.log);
  const login = (accessToken: string) => connect(imap, { user: imap.user, accessToken }, options);
  const first = await tokenOrFail(tokens.token());
  try {
    return await login(first);
  } catch (err) {
    if (!isRefusedLogin(err)) throw err;
  }
  const second = await tokenOrFail(tokens.renew(first));
  try {
    return await login(second);
  } catch (err) {
    if (!isRefusedLogin(err)) throw err;
    const fix =
      'give the app access to the mailbox imap.user names (Microsoft 365: IMAP.AccessAsApp or IMAP.AccessAsUser.All, the Exchange service principal and its mailbox permission; Google: the https://mail.google.com/ scope) and check that imap.user is that mailbox';
    throw new ImapError(
      `IMAP server at ${imap.host}:${imap.port} refused the OAuth2 token for ${imap.user} (a fresh one too): the app may not open this mailbox; fix: ${fix}`,
      'authentication',
      fix,
    );
  }
}

const isRefusedLogin = (err: unknown) => err instanceof ImapError && err.kind === 'authentication';

/** Without a token there is no login: a refused client or grant is an authentication problem. */
async function tokenOrFail(token: Promise<string>): Promise<string> {
  try {
    return await token;
  } catch (err) {
    if (!(err instanceof OAuth2TokenError)) throw new ImapError(String(err), 'connection');
    throw new ImapError(
      `no OAuth2 token for IMAP: ${err.message}; fix: ${err.fix}`,
      err.kind === 'unreachable' ? 'connection' : 'authentication',
      err.fix,
    );
  }
}

async function connect(
  imap: Config['imap'],
  auth: ImapLogin,
  { log, mailDebug = false, idle = false, signal }: ImapOptions,
): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: imap.host,
    port: imap.port,
    secure: imap.tls,
    tls: imap.ca ? { ca: readFileSync(imap.ca) } : undefined,
    auth,
    logger: mailDebug ? mailProtocolLogger(log.child({ module: 'imap-protocol' })) : false,
    disableAutoIdle: !idle,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: idle ? 5 * 60_000 : 60_000,
  });
  // imapflow reports errors as events after connect; unhandled they would crash the worker.
  client.on('error', (err: Error) => log.warn({ err: err.message }, 'IMAP connection error'));
  const abandon = () => client.close();
  signal?.addEventListener('abort', abandon, { once: true });
  try {
    if (signal?.aborted) throw new Error('connection abandoned: stopping');
    await client.connect();
  } catch (err) {
    throw describeImapError(err, imap);
  } finally {
    signal?.removeEventListener('abort', abandon);
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
