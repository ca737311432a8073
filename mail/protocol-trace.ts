import { format } from 'node:util';
import type { Logger } from 'pino';
import { TOKEN_PATTERN } from '../domain/token';

// AUTH exchanges carry base64 credentials: blank every argument after the mechanism or LOGIN user.
const CREDENTIAL_COMMAND = /\b(AUTH\s+\S+|LOGIN|AUTHENTICATE\s+\S+)\s+.*$/i;
const BASE64_LINE = /^[A-Za-z0-9+/]{8,}={0,2}$/;
const SENSITIVE_KEY = /pass|secret|token|cred|^auth$/i;

/**
 * One protocol line with credentials removed; `fromClient` lines that are bare base64 are SASL
 * responses. Completion tokens in message text lose their MAC.
 */
export function redactProtocolLine(line: string, fromClient: boolean): string {
  if (CREDENTIAL_COMMAND.test(line)) return line.replace(CREDENTIAL_COMMAND, '$1 [redacted]');
  if (fromClient && BASE64_LINE.test(line.trim())) return '[redacted]';
  return line.replace(TOKEN_PATTERN, (token) => `${token.slice(0, token.lastIndexOf('.'))}.[redacted]`);
}

type LogFn = (...args: unknown[]) => void;
export interface ProtocolLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

/**
 * A bunyan-style logger for nodemailer and imapflow that sends their protocol trace to pino at
 * trace level with credentials removed; their warnings and errors keep their level.
 */
export function mailProtocolLogger(log: Logger): ProtocolLogger {
  const forward =
    (level: 'trace' | 'warn' | 'error'): LogFn =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      const fields = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
      const meta: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(fields)) {
        if (key === 'msg' || key === 'err' || typeof value === 'object') continue;
        meta[key] = SENSITIVE_KEY.test(key) ? '[redacted]' : value;
      }
      const text =
        typeof first === 'string'
          ? format(first, ...rest)
          : rest.length > 0
            ? format(...rest)
            : typeof fields.msg === 'string'
              ? fields.msg
              : '';
      // The message itself (its tokens included) is not protocol: log its size only.
      if (fields.tnx === 'message') return log[level](meta, `[message data: ${text.length} characters]`);
      const fromClient = fields.tnx === 'client' || fields.src === 'c';
      log[level](
        meta,
        text
          .split('\n')
          .map((line) => redactProtocolLine(line, fromClient))
          .join('\n'),
      );
    };
  return {
    trace: forward('trace'),
    debug: forward('trace'),
    info: forward('trace'),
    warn: forward('warn'),
    error: forward('error'),
    fatal: forward('error'),
  };
}
