import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
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
    auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
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

/** SMTP 5xx replies are final (unknown user, policy rejection): retrying cannot help. */
export function isPermanentRejection(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600 && (err as { code?: string }).code !== 'EAUTH';
}
