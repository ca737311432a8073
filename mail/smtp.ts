import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { oauth2TokenSource, warnOnRotation } from './oauth2-token';
import { mailProtocolLogger } from './protocol-trace';

export interface SmtpTransportOptions {
  mailDebug?: boolean;
  /** One-off connection with short timeouts (a check) instead of the sending pool. */
  check?: boolean;
}

export function createSmtpTransport(
  smtp: Config['smtp'],
  log: Logger,
  { mailDebug = false, check = false }: SmtpTransportOptions = {},
): Transporter {
  const connection = {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    auth: smtpLogin(smtp, log),
    tls: smtp.ca ? { ca: readFileSync(smtp.ca) } : undefined,
    logger: mailDebug ? mailProtocolLogger(log.child({ module: 'smtp' })) : false,
    debug: mailDebug,
  };
  if (check)
    return nodemailer.createTransport({
      ...connection,
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      socketTimeout: 5_000,
    });
  return nodemailer.createTransport({
    ...connection,
    pool: true,
    maxConnections: 3,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
}

/**
 * The AUTH nodemailer does: a password, or XOAUTH2 with a token from the process's token source;
 * nodemailer asks again with `renew` once when the server refuses a token.
 */
function smtpLogin(smtp: Config['smtp'], log: Logger) {
  if (!smtp.user) return undefined;
  if (smtp.auth.type !== 'oauth2') return { user: smtp.user, pass: smtp.password ?? '' };
  const tokens = oauth2TokenSource(smtp.auth, smtp.auth.setting ?? 'smtp.auth');
  warnOnRotation(tokens, log);
  let last: string | undefined;
  return {
    type: 'OAuth2' as const,
    user: smtp.user,
    provisionCallback: (
      _user: string,
      renew: boolean,
      callback: (err: Error | null, accessToken?: string) => void,
    ) => {
      (renew ? tokens.renew(last) : tokens.token()).then(
        (token) => {
          last = token;
          callback(null, token);
        },
        (err: Error) => callback(err),
      );
    },
  };
}

/** SMTP 5xx replies are final (unknown user, policy rejection): retrying cannot help. */
export function isPermanentRejection(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600 && (err as { code?: string }).code !== 'EAUTH';
}
