import { COMMENT_PROMPT, TOKEN_MARKER } from '../../../domain/request-email';
import type { Action } from '../../../domain/token';
import { USERS, type User } from './case-file';

export const TOKEN_VARIANTS = [
  'valid',
  'expired',
  'bad-mac',
  'flipped-action',
  'removed-secret',
  'forged-key-id',
  'other-task-splice',
  'other-recipient-splice',
  'other-run',
  'unknown-task',
  'truncated',
] as const;
export type TokenVariant = (typeof TOKEN_VARIANTS)[number];

/** What a template's placeholders are filled with; tokens bind to the case's task run. */
export interface RenderContext {
  title: string;
  taskId: string;
  messageIdOf(caseId?: string): string;
  token(action: Action, recipient: string, variant: TokenVariant): string;
  /** Text a generator made for `{{generated}}`. */
  generated?: string;
}

const CRLF = '\r\n';

/**
 * Fills a template (innermost placeholders first, so they nest) and returns the message bytes with
 * CRLF line ends. `{{byte:e9}}` is one raw byte (8-bit headers), `{{char:1b}}` one character.
 */
export function renderTemplate(template: string, ctx: RenderContext): Buffer {
  let text = template.replace(/\r?\n/g, CRLF);
  for (let pass = 0; /\{\{(?!byte:|generated\}\})[^{}]*\}\}/.test(text); pass++) {
    if (pass > 8) throw new Error('placeholders nest too deeply');
    text = text.replace(/\{\{(?!byte:|generated\}\})([^{}]*)\}\}/g, (_, body: string) => fill(body, ctx));
  }
  const parts = text.split(/\{\{(byte:[0-9a-f]{2}|generated)\}\}/);
  return Buffer.concat(
    parts.map((part, i) => {
      if (i % 2 === 0) return Buffer.from(part, 'utf8');
      if (part === 'generated') {
        if (ctx.generated === undefined) throw new Error('{{generated}} in a case without `generate`');
        return Buffer.from(ctx.generated, 'utf8');
      }
      return Buffer.from([parseInt(part.slice('byte:'.length), 16)]);
    }),
  );
}

function fill(body: string, ctx: RenderContext): string {
  const [name, ...args] = body.split(':');
  const rest = body.slice(name!.length + 1);
  switch (name) {
    case 'messageId':
      return ctx.messageIdOf(args[0]);
    case 'date':
      return new Date().toUTCString().replace('GMT', '+0000');
    case 'title':
      return ctx.title;
    case 'taskId':
      return ctx.taskId;
    case 'token':
      return token(args, ctx);
    case 'subject':
      return `${label(args[0])}: ${ctx.title} [${token(args, ctx)}]`;
    case 'prefilled':
      // The body a Complete/Fail button pre-fills (see domain/request-email.ts), under the comment.
      return ['', '', COMMENT_PROMPT, TOKEN_MARKER, `Token: ${token(args, ctx)}`, ''].join(CRLF);
    case 'char':
      return String.fromCodePoint(parseInt(args[0]!, 16));
    case 'encoded-word':
      return encodedWords(args[0]!, rest.slice(args[0]!.length + 1));
    case 'base64':
      return lines(Buffer.from(rest, 'utf8').toString('base64'), 76).join(CRLF);
    case 'qp':
      return quotedPrintable(rest);
    default:
      throw new Error(`unknown placeholder {{${body.slice(0, 40)}}}`);
  }
}

function label(action: string | undefined): string {
  if (action === 'complete') return 'Complete task';
  if (action === 'fail') return 'Fail task';
  throw new Error(`unknown action ${action}`);
}

function token([action, who, variant = 'valid']: string[], ctx: RenderContext): string {
  if (action !== 'complete' && action !== 'fail') throw new Error(`token: unknown action ${action}`);
  if (!(who! in USERS)) throw new Error(`token: unknown user ${who}`);
  if (!(TOKEN_VARIANTS as readonly string[]).includes(variant))
    throw new Error(`token: unknown variant ${variant}`);
  return ctx.token(action, USERS[who as User], variant as TokenVariant);
}

const lines = (s: string, width: number): string[] => s.match(new RegExp(`[^]{1,${width}}`, 'g')) ?? [''];

/** RFC 2047 encoded words of at most 75 characters, folded; whole characters per word. */
function encodedWords(encoding: string, text: string): string {
  const words: string[] = [];
  let chunk = '';
  const flush = () => {
    if (chunk === '') return;
    const bytes = Buffer.from(chunk, 'utf8');
    const encoded =
      encoding === 'B'
        ? bytes.toString('base64')
        : [...bytes]
            .map((b) =>
              /[A-Za-z0-9!*+\-/]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `=${hex(b)}`,
            )
            .join('')
            .replace(/=20/g, '_');
    words.push(`=?UTF-8?${encoding}?${encoded}?=`);
    chunk = '';
  };
  if (encoding !== 'B' && encoding !== 'Q') throw new Error(`encoded-word: encoding B or Q, not ${encoding}`);
  for (const char of text) {
    // 12 characters of every word are its markers; 45 bytes give at most 60 base64 or Q characters
    // for B, and Q triples the size of non-ASCII bytes, so stay well under 75.
    if (Buffer.byteLength(chunk + char) > (encoding === 'B' ? 45 : 20)) flush();
    chunk += char;
  }
  flush();
  return words.join(`${CRLF} `);
}

const hex = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');

/** Quoted-printable (RFC 2045) with soft line breaks at 76 characters; CRLF stays a hard break. */
function quotedPrintable(text: string): string {
  return text
    .split(CRLF)
    .map((line) => {
      const encoded = [...Buffer.from(line, 'utf8')]
        .map((b) => ((b >= 33 && b <= 126 && b !== 61) || b === 32 ? String.fromCharCode(b) : `=${hex(b)}`))
        .join('')
        .replace(/ $/, '=20');
      const out: string[] = [];
      let rest = encoded;
      while (rest.length > 75) {
        let cut = 75;
        // Never split an =XX escape.
        const eq = rest.lastIndexOf('=', cut - 1);
        if (eq > cut - 3) cut = eq;
        out.push(`${rest.slice(0, cut)}=`);
        rest = rest.slice(cut);
      }
      out.push(rest);
      return out.join(CRLF);
    })
    .join(CRLF);
}
