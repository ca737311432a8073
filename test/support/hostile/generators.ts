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

  /**
   * The end of a header block: `size` DKIM signatures of the From domain, each with its own body
   * length (`l=`), then a body of plain lines up to about maxMessageBytes. A checker that hashes the
   * body once per distinct length does `size` passes over it.
   */
  'dkim-body-lengths': ({ size = 3_000, maxMessageBytes }) => {
    const line = `${'x'.repeat(70)}${CRLF}`;
    const body = line.repeat(Math.max(1, Math.floor((maxMessageBytes - 50_000 - size * 120) / line.length)));
    const signatures = Array.from(
      { length: size },
      (_, i) =>
        `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=corpus; l=${body.length - i}; h=from; bh=AAAA; b=AAAA`,
    );
    return [...signatures, 'Content-Type: text/plain; charset=utf-8', '', body].join(CRLF);
  },

  /**
   * Header fields: one DKIM signature of the From domain whose `h=` names `size` fields that the
   * message does not have, folded, then 6,000 short fields. A checker that looks each name up
   * among all the fields does `size` x 6,000 comparisons. Sized so that the header block stays
   * under the MIME parser's 1 MiB (every line counting at least 64 bytes).
   */
  'dkim-signed-field-list': ({ size = 250_000 }) => {
    const perLine = 36;
    const names = Array.from({ length: Math.ceil(size / perLine) }, () => 'a:'.repeat(perLine));
    const fields = Array.from({ length: 6_000 }, (_, i) => `X-${i}: ${i}`);
    return [
      `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=corpus; h=${names.join(`${CRLF}\t`)}from; bh=AAAA; b=AAAA`,
      ...fields,
    ].join(CRLF);
  },

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
