import type { AddressObject, EmailAddress, ParsedMail } from 'mailparser';
import { asciiLowerCase } from './ascii-case';
import type { SenderVerdict } from './sender-authentication';

/** A message of the completion mailbox, as much of it as classification needs. */
export interface InboundMail {
  /** UIDVALIDITY of the mailbox and UID: with them, a message without a Message-ID has a stable key. */
  uidValidity: string;
  uid: number;
  size: number;
  messageId?: string;
  /** The first From address. */
  from?: { address: string; name?: string };
  /** Lower-case addresses. */
  to: string[];
  cc: string[];
  subject: string;
  text?: string;
  html?: string;
  /** Lower-case header name -> its first value, unfolded, not RFC 2047-decoded. */
  headers: Record<string, string>;
  /** '' when `<>`. */
  returnPath?: string;
  /** Without parameters, lower-case, e.g. 'multipart/report'. */
  contentType: string;
  /** Epoch milliseconds. */
  receivedAt: number;
  /** Whether From is the real sender (mail/authenticate-sender.ts), checked on the raw message. */
  authentication: SenderVerdict;
}

/**
 * Expects `simpleParser(source, { skipHtmlToText: true })`: otherwise mailparser writes a text
 * version of an HTML-only mail, in which quotes can no longer be told from the sender's words.
 */
export function toInboundMail(
  parsed: ParsedMail,
  meta: Pick<InboundMail, 'uidValidity' | 'uid' | 'size' | 'receivedAt' | 'authentication'>,
): InboundMail {
  const headers = new Map<string, string>();
  for (const { key, line } of parsed.headerLines) {
    const name = key.toLowerCase();
    if (!headers.has(name))
      headers.set(
        name,
        line
          .slice(line.indexOf(':') + 1)
          .replace(/\r?\n[ \t]/g, ' ')
          .trim(),
      );
  }
  const returnPath = headers.get('return-path');
  const from = addresses(parsed.from)[0];
  return {
    ...meta,
    messageId: parsed.messageId,
    from: from && (from.name ? { address: from.address, name: from.name } : { address: from.address }),
    to: addresses(parsed.to).map((a) => a.address),
    cc: addresses(parsed.cc).map((a) => a.address),
    subject: parsed.subject ?? '',
    text: parsed.text || undefined,
    html: parsed.html || undefined,
    headers: Object.fromEntries(headers),
    returnPath:
      returnPath === undefined ? undefined : (/<([^<>]*)>/.exec(returnPath)?.[1] ?? returnPath).trim(),
    contentType: (headers.get('content-type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase(),
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): { address: string; name: string }[] {
  const flatten = (list: EmailAddress[]): EmailAddress[] =>
    list.flatMap((a) => (a.group ? flatten(a.group) : [a]));
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return flatten(objects.flatMap((o) => o.value)).flatMap((a) =>
    a.address ? [{ address: asciiLowerCase(a.address), name: a.name }] : [],
  );
}
