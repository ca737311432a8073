import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { mailProtocolLogger } from '../worker/mail-debug';

export function createSmtpTransport(smtp: Config['smtp'], log: Logger, mailDebug = false): Transporter {
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
    tls: smtp.ca ? { ca: readFileSync(smtp.ca) } : undefined,
    pool: true,
    maxConnections: 3,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
    logger: mailDebug ? mailProtocolLogger(log.child({ module: 'smtp' })) : false,
    debug: mailDebug,
  });
}

/** SMTP 5xx replies are final (unknown user, policy rejection): retrying cannot help. */
export function isPermanentRejection(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600 && (err as { code?: string }).code !== 'EAUTH';
}
