import { format } from 'node:util';
import type { Logger } from 'pino';

// AUTH exchanges carry base64 credentials: blank every argument after the mechanism or LOGIN user.
const CREDENTIAL_LINE = /\b(AUTH\s+\S+|LOGIN|AUTHENTICATE\s+\S+)\s+.*$/i;
const BASE64_CONTINUATION = /^(C:\s*|\[\S+\]\s*C:\s*)?[A-Za-z0-9+/]{8,}={0,2}\s*$/;

export function redactProtocolLine(line: string): string {
  if (CREDENTIAL_LINE.test(line)) return line.replace(CREDENTIAL_LINE, '$1 [redacted]');
  if (BASE64_CONTINUATION.test(line)) return '[redacted]';
  return line;
}

type LogFn = (...args: unknown[]) => void;
export interface ProtocolLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  level?: string;
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
      const meta = typeof first === 'object' && first !== null ? scrub(first as Record<string, unknown>) : {};
      const text = typeof first === 'string' ? format(first, ...rest) : format(...rest);
      log[level](meta, text.split('\n').map(redactProtocolLine).join('\n'));
    };
  return { trace: forward('trace'), debug: forward('trace'), info: forward('trace'), warn: forward('warn'), error: forward('error'), fatal: forward('error') };
}

function scrub(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (/pass|secret|token|auth|cred/i.test(key)) out[key] = '[redacted]';
    else if (typeof value === 'string') out[key] = redactProtocolLine(value);
    else if (typeof value !== 'object') out[key] = value;
  }
  return out;
}
