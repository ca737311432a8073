import pino, { type Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log object. */
export const REDACTED_PATHS = [
  'password',
  'pass',
  'secret',
  'secrets',
  'token',
  '*.password',
  '*.pass',
  '*.secret',
  '*.secrets',
  '*.token',
  'auth.pass',
  '*.auth.pass',
  'config.smtp.password',
  'config.imap.password',
  'config.signature.secrets',
  'apiKey',
  '*.apiKey',
  'config.temporal.apiKey',
  // OAuth2 (imap.auth / smtp.auth): client secrets, refresh and access tokens, in any spelling.
  'clientSecret',
  'refreshToken',
  'accessToken',
  'client_secret',
  'refresh_token',
  'access_token',
  '*.clientSecret',
  '*.refreshToken',
  '*.accessToken',
  'auth.accessToken',
  '*.auth.accessToken',
  'config.imap.auth.clientSecret',
  'config.imap.auth.refreshToken',
  'config.smtp.auth.clientSecret',
  'config.smtp.auth.refreshToken',
];

export interface LoggerOptions {
  level?: string;
  /** Append JSON lines to this file instead of stdout. */
  file?: string;
  /** Pretty output; defaults to whether the destination is a TTY. */
  pretty?: boolean;
  /** Console stream when no file is given; CLI commands log to stderr to keep stdout for results. */
  stream?: 'stdout' | 'stderr';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const redact = { paths: REDACTED_PATHS, censor: '[redacted]' };
  if (options.file) {
    return pino({ level, redact }, pino.destination({ dest: options.file, mkdir: true, sync: true }));
  }
  const fd = options.stream === 'stderr' ? 2 : 1;
  if (options.pretty ?? (fd === 2 ? process.stderr : process.stdout).isTTY) {
    return pino({
      level,
      redact,
      transport: {
        target: 'pino-pretty',
        options: { destination: fd, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  return pino({ level, redact }, pino.destination({ fd, sync: true }));
}
