import { randomBytes } from 'node:crypto';
import type { GENERATORS } from './case-file';

/**
 * Bodies too big or too repetitive to commit, made at run time for `{{generated}}`. Each returns
 * CRLF text; `size` is in bytes (or a count, see each one), `maxMessageBytes` the sync's limit.
 */
export interface GenerateContext {
  size?: number;
  maxMessageBytes: number;
  /** A token-shaped string that does not verify, for junk. */
  badToken: () => string;
  /** The valid complete token of the case. */
  validToken: () => string;
}

const CRLF = '\r\n';
const wrap = (s: string, width: number): string =>
  (s.match(new RegExp(`[^]{1,${width}}`, 'g')) ?? []).join(CRLF);

export const generators: Record<(typeof GENERATORS)[number], (ctx: GenerateContext) => string> = {
  /**
   * `<a` followed by letters and never a `>`: an HTML tag pattern that backtracks makes this
   * quadratic. Quoted-printable soft breaks keep SMTP lines short while the decoded HTML is one
   * unbroken tag; sized to stay under maxMessageBytes (minus room for headers) so it is downloaded.
   */
  'poison-html': ({ maxMessageBytes, size }) => {
    const encodedBytes = size ?? maxMessageBytes - 8_000;
    const letters = 'abcdefghijklmnopqrstuvwxyz'
      .repeat(Math.ceil(encodedBytes / 26))
      .slice(0, Math.floor((encodedBytes * 75) / 78));
    return (`<a${letters}`.match(/[^]{1,75}/g) ?? []).join(`=${CRLF}`);
  },

  /** A base64 attachment of `size` bytes. */
  'oversized-attachment': ({ size = 1 }) =>
    wrap(randomBytes(Math.ceil((size * 3) / 4)).toString('base64'), 76),

  /** `size` levels of multipart/mixed around a text part with the valid reply. */
  'nested-multipart': ({ size = 500, validToken }) => {
    let part = [
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Approved from deep inside.',
      '',
      `Token: ${validToken()}`,
      '',
    ].join(CRLF);
    for (let level = size; level >= 1; level--)
      part = [
        `Content-Type: multipart/mixed; boundary="level-${level}"`,
        '',
        `--level-${level}`,
        part,
        `--level-${level}--`,
        '',
      ].join(CRLF);
    return part;
  },

  /** A multipart/mixed body of `size` sibling text parts. */
  'many-parts': ({ size = 5_000 }) => {
    const parts = Array.from(
      { length: size },
      (_, i) => `--many${CRLF}Content-Type: text/plain${CRLF}${CRLF}part ${i}${CRLF}`,
    );
    return `${parts.join('')}--many--${CRLF}`;
  },

  /** `size` header fields, placed by the template among the real headers. */
  'many-headers': ({ size = 20_000 }) =>
    Array.from({ length: size }, (_, i) => `X-Junk-${i}: filler ${i}`).join(CRLF),

  /** `size` distinct token-shaped strings that do not verify, one per line. */
  'many-bad-tokens': ({ size = 2_000, badToken }) =>
    Array.from({ length: size }, () => badToken()).join(CRLF),
};

/** One of the flood's junk messages: plain, HTML, alternative or token-less "Complete task" mail from whitelisted senders. */
export function floodJunk(i: number, messageId: string): Buffer {
  const head = [
    `From: ${['Newsletter <news@example.test>', 'alice@example.test', '"Support" <support@example.test>'][i % 3]}`,
    'To: completion@example.test',
    `Message-ID: ${messageId}`,
    `Date: ${new Date().toUTCString()}`,
  ];
  const kinds = [
    [
      'Subject: Weekly digest',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Digest number ${i}. rc1.not-a-token.${i}`,
    ],
    [
      'Subject: =?UTF-8?B?VW5lIG9mZnJl?=',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<p>Offer ${i}</p><a href="x">click</a>`,
    ],
    [
      'Subject: Re: lunch',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain',
      '',
      `lunch ${i}?`,
      '--alt',
      'Content-Type: text/html',
      '',
      `<b>lunch ${i}?</b>`,
      '--alt--',
    ],
    [
      'Subject: Complete task',
      'Content-Type: text/plain',
      '',
      `I would complete it but have no token (${i}).`,
    ],
  ];
  return Buffer.from([...head, ...kinds[i % kinds.length]!, ''].join('\r\n'));
}
