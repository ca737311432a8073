/**
 * `mailto:` URIs per RFC 6068.
 *
 * Building percent-encodes every character outside RFC 3986 "unreserved" (UTF-8 first), in the
 * address as in header values: always valid, and no client can read `&`, `?`, `#`, `%`, `+` or a
 * line break as syntax. Parsing is strict: anything the RFC grammar does not allow is an error.
 */
export interface MailtoFields {
  subject?: string;
  body?: string;
  /** Message-ID of the mail being answered, with its angle brackets, so the reply threads. */
  inReplyTo?: string;
}

export interface ParsedMailto {
  to: string[];
  /** Every header field of the URI, decoded, keyed by lower-case name. */
  headers: Record<string, string>;
  subject?: string;
  body?: string;
}

export function buildMailto(to: string, fields: MailtoFields): string {
  if (!ADDR_SPEC.test(to)) throw new Error(`mailto: not a plain address (addr-spec): ${JSON.stringify(to)}`);
  const at = to.lastIndexOf('@');
  const hfields: string[] = [];
  for (const [name, value] of [
    ['subject', fields.subject],
    ['In-Reply-To', fields.inReplyTo],
  ] as const) {
    if (value === undefined) continue;
    if (/[\r\n]/.test(value)) throw new Error(`mailto: ${name} must be a single line`);
    hfields.push(`${name}=${encode(value)}`);
  }
  // RFC 6068 section 5: line breaks in the body are CRLF, whatever the input used.
  if (fields.body !== undefined) hfields.push(`body=${encode(fields.body.replace(/\r\n|\r|\n/g, '\r\n'))}`);
  const query = hfields.length > 0 ? `?${hfields.join('&')}` : '';
  return `mailto:${encode(to.slice(0, at))}@${encode(to.slice(at + 1))}${query}`;
}

/** Strict RFC 6068 parser; throws an Error naming what is wrong. */
export function parseMailto(url: string): ParsedMailto {
  const scheme = 'mailto:';
  if (url.slice(0, scheme.length).toLowerCase() !== scheme) throw new Error('mailto: scheme missing');
  const rest = url.slice(scheme.length);
  const query = rest.indexOf('?');
  const toPart = query === -1 ? rest : rest.slice(0, query);
  if (!/^[A-Za-z0-9\-._~!$'()*+,:@%]*$/.test(toPart))
    throw new Error('mailto: character not allowed in address');
  const to = toPart === '' ? [] : parseAddresses(toPart);
  const headers: Record<string, string> = {};
  if (query !== -1) {
    for (const hfield of rest.slice(query + 1).split('&')) {
      const match = /^([A-Za-z0-9\-._~!$'()*+,;:@%]+)=([A-Za-z0-9\-._~!$'()*+,;:@%]*)$/.exec(hfield);
      if (!match) throw new Error(`mailto: malformed header field ${JSON.stringify(hfield)}`);
      const name = decode(match[1]!).toLowerCase();
      const rawValue = match[2]!;
      if (Object.hasOwn(headers, name)) throw new Error(`mailto: header field ${name} repeated`);
      const value = decode(rawValue);
      const lineBreaks = name === 'body' ? /\r(?!\n)|(?<!\r)\n/ : /[\r\n]/;
      if (lineBreaks.test(value)) throw new Error(`mailto: bad line break in ${name}`);
      if (name === 'to' && rawValue !== '') to.push(...parseAddresses(rawValue));
      headers[name] = value;
    }
  }
  return { to, headers, subject: headers.subject, body: headers.body };
}

function parseAddresses(raw: string): string[] {
  return raw.split(',').map((part) => {
    const address = decode(part);
    if (!ADDR_SPEC.test(address)) throw new Error(`mailto: not an addr-spec: ${JSON.stringify(address)}`);
    return address;
  });
}

// RFC 5322 addr-spec without obsolete forms, comments or folding (RFC 6068 section 2), with
// UTF-8 allowed as in RFC 6532.
const ATEXT = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u0080-\\u{10FFFF}]";
const DOT_ATOM = `${ATEXT}+(?:\\.${ATEXT}+)*`;
const QUOTED = '"(?:[ !#-\\[\\]-~\\u0080-\\u{10FFFF}]|\\\\[ -~])*"';
const DOMAIN_LITERAL = '\\[[!-Z^-~]*\\]';
const ADDR_SPEC = new RegExp(`^(?:${DOT_ATOM}|${QUOTED})@(?:${DOT_ATOM}|${DOMAIN_LITERAL})$`, 'u');

function encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new Error(`mailto: bad percent-encoding in ${JSON.stringify(s)}`);
  }
}
