import addressparser from 'nodemailer/lib/addressparser';
import { asciiLowerCase } from './ascii-case';

/**
 * Sender authentication rules: is the `From` of a reply really its sender? Pure functions over
 * the raw header lines and over the results of a DKIM/DMARC checker; the I/O (DNS, mailauth)
 * is in mail/authenticate-sender.ts.
 */

export const SENDER_AUTHENTICATION_MODES = ['verify', 'authentication-results', 'off'] as const;
export type SenderAuthenticationMode = (typeof SENDER_AUTHENTICATION_MODES)[number];

/**
 * What the mailbox sync learnt about a message's sender; plain data (it crosses threads).
 * `pass`: the From domain is authenticated. `fail`: it is not. `temperror`: DNS could not answer
 * now, so the message may be tried again. `off`: nothing was checked (mode off).
 */
export interface SenderVerdict {
  mode: SenderAuthenticationMode;
  /** The one From mailbox, ASCII-lower-cased; absent when the From header breaks the one-From rule. */
  from?: string;
  /** Why the From header was refused (two mailboxes, a group, two From headers ...). */
  fromProblem?: string;
  status: 'pass' | 'fail' | 'temperror' | 'off';
  /** The evidence in one line, e.g. `dmarc=pass (p=reject) header.from=example.test; dkim=pass d=example.test aligned`. */
  summary: string;
  /** How long the check took (milliseconds). */
  checkMs?: number;
}

export interface HeaderField {
  /** ASCII-lower-cased, trimmed. */
  name: string;
  /** Unfolded, untrimmed, not decoded. */
  value: string;
}

/** A From header longer than this is refused: no sender needs it, and it bounds the address parser. */
export const MAX_FROM_LENGTH = 4096;
/** An Authentication-Results header longer than this is ignored as malformed. */
export const MAX_AUTHENTICATION_RESULTS_LENGTH = 65_536;

/** A header field and the bytes it takes in the raw message, its line ends included. */
interface FieldSpan extends HeaderField {
  start: number;
  end: number;
}

/**
 * The header fields of a raw message, top first, as they are on the wire: every occurrence,
 * whatever the case of its name. One pass over the header block.
 */
export function headerFields(raw: Buffer | string): HeaderField[] {
  return fieldSpans(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw).map(({ name, value }) => ({
    name,
    value,
  }));
}

function fieldSpans(source: Buffer): FieldSpan[] {
  const crlf = source.indexOf('\r\n\r\n');
  const lf = source.indexOf('\n\n');
  const ends = [crlf, lf].filter((i) => i >= 0);
  // The header block with the line end of its last line, without the empty line.
  const end = ends.length === 0 ? source.length : Math.min(...ends) + (Math.min(...ends) === crlf ? 2 : 1);
  const fields: FieldSpan[] = [];
  let current: { name: string; parts: string[]; start: number; end: number } | undefined;
  const flush = () => {
    if (current) fields.push({ ...current, value: current.parts.join(' ') });
    current = undefined;
  };
  for (let start = 0; start < end;) {
    const newline = source.indexOf(0x0a, start);
    const next = newline < 0 || newline >= end ? end : newline + 1;
    let line = source.toString('utf8', start, next);
    if (line.endsWith('\n')) line = line.slice(0, -1);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current) {
        current.parts.push(line);
        current.end = next;
      }
    } else {
      flush();
      const colon = line.indexOf(':');
      // A line without a colon is no field (e.g. an mbox "From " line); its continuation lines go with it.
      if (colon > 0)
        current = {
          name: asciiLowerCase(line.slice(0, colon).trim()),
          parts: [line.slice(colon + 1)],
          start,
          end: next,
        };
    }
    start = next;
  }
  flush();
  return fields;
}

/**
 * The raw message with the empty line that ends its header block. A message may have no body and
 * then no empty line either (RFC 5322 section 3.5); mailauth finds no signature in such a message,
 * and an empty body canonicalizes as no body does, so the signatures verify as they are.
 */
export function withHeaderEnd(raw: Buffer): Buffer {
  if (raw.includes('\r\n\r\n') || raw.includes('\n\n')) return raw;
  return Buffer.concat([raw, Buffer.from(raw.length === 0 || raw.at(-1) === 0x0a ? '\r\n' : '\r\n\r\n')]);
}

/**
 * At most this many DKIM signatures of a message are verified: each costs a body hash over the
 * whole body (one per distinct `l=`), a DNS lookup and an RSA check, so a message with thousands
 * of them would cost seconds. RFC 6376 section 6.1 lets a verifier limit them (KumoMTA verifies
 * 10, Apache James 32); a reply carries one or two.
 */
export const MAX_DKIM_SIGNATURES = 5;
/**
 * A signature naming more header fields than this (`h=`) is not verified: the checker looks each
 * name up among all the header fields, so a list of 250,000 names over 7,000 fields costs
 * seconds. Signers name a few dozen, counting the ones they name twice to oversign.
 */
export const MAX_SIGNED_HEADER_FIELDS = 100;

/** The tags of a DKIM-Signature or ARC-Message-Signature value that matter here; linear in the value. */
function signatureTags(value: string): { d: string; signedFields: number } {
  let d = '';
  let signedFields = 0;
  for (const tag of value.split(';')) {
    const eq = tag.indexOf('=');
    const name = tag.slice(0, eq).trim();
    if (name === 'd') d = asciiLowerCase(tag.slice(eq + 1).trim());
    else if (name === 'h') signedFields = tag.slice(eq + 1).split(':').length;
  }
  return { d, signedFields };
}

/**
 * The raw message as the DKIM checker should see it: without the signatures it should not spend
 * time on. Signatures naming more than MAX_SIGNED_HEADER_FIELDS fields are left out (ARC's too),
 * then all DKIM signatures past the first MAX_DKIM_SIGNATURES, those of the From domain (or its
 * parent or child domains) counting first. Every other byte is kept as it is, so the signatures
 * left verify as they would have.
 */
export function withBoundedSignatures(raw: Buffer, fromAddress: string): { raw: Buffer; notChecked: number } {
  const from = domainOf(fromAddress);
  const related = (d: string) => d === from || from.endsWith(`.${d}`) || d.endsWith(`.${from}`);
  const drop = new Set<FieldSpan>();
  const kept: { span: FieldSpan; aligned: boolean }[] = [];
  for (const span of fieldSpans(raw)) {
    if (span.name !== 'dkim-signature' && span.name !== 'arc-message-signature') continue;
    const { d, signedFields } = signatureTags(span.value);
    if (signedFields > MAX_SIGNED_HEADER_FIELDS) drop.add(span);
    else if (span.name === 'dkim-signature') kept.push({ span, aligned: related(d) });
  }
  const byPriority = [...kept.filter((k) => k.aligned), ...kept.filter((k) => !k.aligned)];
  for (const { span } of byPriority.slice(MAX_DKIM_SIGNATURES)) drop.add(span);
  if (drop.size === 0) return { raw, notChecked: 0 };
  const parts: Buffer[] = [];
  let at = 0;
  for (const span of [...drop].sort((a, b) => a.start - b.start)) {
    parts.push(raw.subarray(at, span.start));
    at = span.end;
  }
  parts.push(raw.subarray(at));
  return { raw: Buffer.concat(parts), notChecked: drop.size };
}

/**
 * The one-From rule: exactly one From header holding exactly one mailbox. A list, a group, two
 * From headers (in whatever case) are refused: DMARC gives no verdict for them, and the mail
 * parser's merged view would show only one of the addresses.
 */
export function singleFromMailbox(fields: readonly HeaderField[]): { address: string } | { problem: string } {
  const froms = fields.filter((f) => f.name === 'from');
  if (froms.length === 0) return { problem: 'the message has no From header' };
  if (froms.length > 1) return { problem: `the message has ${froms.length} From headers` };
  const value = froms[0]!.value;
  if (value.length > MAX_FROM_LENGTH)
    return { problem: `the From header is longer than ${MAX_FROM_LENGTH} characters` };
  const entries = addressparser(value.trim());
  if (entries.length !== 1) return { problem: `the From header names ${entries.length} mailboxes` };
  const entry = entries[0]!;
  if ('group' in entry && entry.group) return { problem: 'the From header is a group' };
  const address = 'address' in entry ? entry.address : '';
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return { problem: 'the From header holds no address' };
  return { address: asciiLowerCase(address) };
}

export const domainOf = (address: string): string =>
  asciiLowerCase(address.slice(address.lastIndexOf('@') + 1)).replace(/\.$/, '');

// ---------------------------------------------------------------------------------------------
// verify: the verdict from an in-process DKIM/DMARC check (mailauth)

/** One DKIM signature as the checker reports it. */
export interface DkimSignatureCheck {
  signingDomain: string;
  /** pass, fail, neutral, temperror, policy, ... */
  result: string;
  /** The signing domain is aligned (relaxed, RFC 7489) with the From domain. */
  aligned: boolean;
  /** `l=` signature that leaves part of the body unsigned: an attacker may have appended text. */
  partialBody: boolean;
  comment?: string;
}

/** The parts of a mailauth DKIM + DMARC run the verdict needs. */
export interface MailauthReport {
  /** Every address in every From header, as the checker read them. */
  headerFrom: string[];
  /** Signatures left out by withBoundedSignatures. */
  notChecked?: number;
  dkim: DkimSignatureCheck[];
  /** false: the checker gave no DMARC verdict. */
  dmarc:
    | false
    | {
        /** pass, fail, none (no record), temperror, ... */
        result: string;
        policy?: string;
        /** The aligned DKIM signature DMARC passed on covers only part of the body. */
        alignedPartialBody?: boolean;
        error?: string;
      };
}

/**
 * Whether the From domain is authenticated: DMARC pass on a signature that covers the whole
 * body; or, for a domain without a DMARC record, a valid DKIM signature aligned with it.
 * SPF plays no part (see mail/authenticate-sender.ts).
 */
export function verdictFromMailauth(
  report: MailauthReport,
  from: string,
): Pick<SenderVerdict, 'status' | 'summary'> {
  const domain = domainOf(from);
  const dkim = report.dkim
    .slice(0, 5)
    .map(
      (s) =>
        `dkim=${s.result} d=${s.signingDomain}${s.aligned ? ' aligned' : ''}${s.partialBody ? ' partial-body' : ''}${s.comment ? ` (${s.comment})` : ''}`,
    );
  const { dmarc } = report;
  const notChecked = report.notChecked ? [`${report.notChecked} more signatures not checked`] : [];
  const summarise = (dmarcPart: string) =>
    [dmarcPart, ...(dkim.length > 0 ? dkim : ['dkim=none']), ...notChecked].join('; ');
  const read = report.headerFrom.map(asciiLowerCase);
  if (read.length !== 1 || read[0] !== from)
    return {
      status: 'fail',
      summary: summarise(`the DKIM checker read the From header as [${read.join(', ')}], not ${from}`),
    };
  if (dmarc === false) return { status: 'fail', summary: summarise('dmarc: no verdict') };
  const dmarcPart = `dmarc=${dmarc.result}${dmarc.policy ? ` (p=${dmarc.policy})` : ''} header.from=${domain}${dmarc.error ? ` (${dmarc.error})` : ''}`;
  const usable = (s: DkimSignatureCheck) => s.result === 'pass' && s.aligned && !s.partialBody;
  const alignedTemperror = report.dkim.some((s) => s.aligned && s.result === 'temperror');
  switch (dmarc.result) {
    case 'pass':
      return dmarc.alignedPartialBody
        ? {
            status: 'fail',
            summary: summarise(
              `${dmarcPart}, but the aligned signature leaves part of the body unsigned (l=)`,
            ),
          }
        : { status: 'pass', summary: summarise(dmarcPart) };
    case 'temperror':
      return { status: 'temperror', summary: summarise(dmarcPart) };
    case 'none':
      if (report.dkim.some(usable)) return { status: 'pass', summary: summarise(dmarcPart) };
      return { status: alignedTemperror ? 'temperror' : 'fail', summary: summarise(dmarcPart) };
    default:
      // A signature of the From domain whose key could not be fetched may still be valid.
      return { status: alignedTemperror ? 'temperror' : 'fail', summary: summarise(dmarcPart) };
  }
}

// ---------------------------------------------------------------------------------------------
// authentication-results: the verdict of a trusted inbound server (RFC 8601)

export interface AuthenticationResult {
  /** Lower-case method, e.g. dkim, dmarc, spf (without a /version). */
  method: string;
  /** Lower-case result, e.g. pass. */
  result: string;
  /** Lower-case `ptype.property` -> value, e.g. `header.from` -> `example.test`. */
  properties: Record<string, string>;
}

export interface AuthenticationResults {
  authservId: string;
  results: AuthenticationResult[];
}

type Token = { kind: 'word' | 'quoted'; text: string } | { kind: ';' | '=' };

/**
 * Splits an Authentication-Results value into words, quoted strings, `;` and `=`, dropping
 * whitespace and (nested) comments. Every character is looked at once.
 */
function tokenize(value: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    const c = value[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(') {
      let depth = 0;
      for (; i < n; i++) {
        const d = value[i];
        if (d === '\\') i++;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      i++;
    } else if (c === '"') {
      let text = '';
      for (i++; i < n && value[i] !== '"'; i++) {
        if (value[i] === '\\') i++;
        if (i < n) text += value[i];
      }
      i++;
      tokens.push({ kind: 'quoted', text });
    } else if (c === ';' || c === '=') {
      tokens.push({ kind: c });
      i++;
    } else if (c === ')') {
      i++; // a stray closing parenthesis: nothing to read
    } else {
      const start = i;
      while (i < n && !' \t\r\n();="'.includes(value[i]!)) i++;
      tokens.push({ kind: 'word', text: value.slice(start, i) });
    }
  }
  return tokens;
}

const textOf = (token: Token | undefined): string | undefined =>
  token && (token.kind === 'word' || token.kind === 'quoted') ? token.text : undefined;

/** The authserv-id of an Authentication-Results value, without parsing the rest. */
export function authservIdOf(value: string): string | undefined {
  const start = value.search(/[^ \t\r\n]/);
  if (start < 0 || value[start] === '(' || value[start] === '"') {
    // Rare shapes (a comment or a quoted id first): the full tokenizer, on a bounded value.
    if (value.length > MAX_AUTHENTICATION_RESULTS_LENGTH) return undefined;
    const first = tokenize(value)[0];
    return first?.kind === 'word' || first?.kind === 'quoted' ? first.text : undefined;
  }
  let end = start;
  while (end < value.length && !' \t\r\n();="'.includes(value[end]!)) end++;
  const id = value.slice(start, end);
  // `spf=pass ...` with no authserv-id at all (seen from some servers) has none to match.
  return value[end] === '=' ? undefined : id;
}

/** Parses an Authentication-Results value (RFC 8601); undefined when it is malformed or too long. */
export function parseAuthenticationResults(value: string): AuthenticationResults | undefined {
  if (value.length > MAX_AUTHENTICATION_RESULTS_LENGTH) return undefined;
  const tokens = tokenize(value);
  const authservId = textOf(tokens[0]);
  if (authservId === undefined) return undefined;
  let i = 1;
  // An optional version number after the authserv-id.
  if (tokens[i]?.kind === 'word' && /^\d+$/.test(textOf(tokens[i])!)) i++;
  const results: AuthenticationResult[] = [];
  while (i < tokens.length) {
    if (tokens[i]!.kind !== ';') return undefined;
    i++;
    if (i >= tokens.length) break; // a trailing ';'
    const method = textOf(tokens[i]);
    if (method === undefined || tokens[i + 1]?.kind !== '=') {
      // `none` says no method was applied.
      if (method?.toLowerCase() === 'none' && results.length === 0) {
        i++;
        continue;
      }
      return undefined;
    }
    const result = textOf(tokens[i + 2]);
    if (result === undefined) return undefined;
    i += 3;
    const properties: Record<string, string> = {};
    // reason=value and ptype.property=value pairs, up to the next ';'.
    while (i < tokens.length && tokens[i]!.kind !== ';') {
      const key = textOf(tokens[i]);
      const propertyValue = textOf(tokens[i + 2]);
      if (key === undefined || tokens[i + 1]?.kind !== '=' || propertyValue === undefined) return undefined;
      const name = asciiLowerCase(key);
      if (!(name in properties)) properties[name] = propertyValue;
      i += 3;
    }
    results.push({
      method: asciiLowerCase(method.split('/')[0]!.trim()),
      result: asciiLowerCase(result),
      properties,
    });
  }
  return { authservId, results };
}

/**
 * The value of the topmost Authentication-Results header written by `authservId`; every other
 * one is ignored. A receiving server adds its header on top of what the message brought, and
 * (RFC 8601 section 5) removes incoming ones that claim its own authserv-id.
 */
export function trustedAuthenticationResults(
  fields: readonly HeaderField[],
  authservId: string,
): string | undefined {
  const wanted = asciiLowerCase(authservId);
  return fields.find(
    (f) => f.name === 'authentication-results' && asciiLowerCase(authservIdOf(f.value) ?? '') === wanted,
  )?.value;
}

/** The domain (header.d, else the domain of header.i) a DKIM result names. */
function dkimDomain(result: AuthenticationResult): string | undefined {
  const d = result.properties['header.d'] ?? result.properties['header.i'];
  return d === undefined ? undefined : domainOf(d);
}

/** `d` is `domain` or one of its parents: relaxed alignment without the public suffix list, on the safe side. */
const alignedWith = (d: string, domain: string) => d === domain || domain.endsWith(`.${d}`);

/**
 * Whether the trusted server's results authenticate the From domain: DMARC pass for it (its
 * header.from); or, with DMARC none, a DKIM pass aligned with it.
 */
export function verdictFromAuthenticationResults(
  header: string | undefined,
  authservId: string,
  from: string,
): Pick<SenderVerdict, 'status' | 'summary'> {
  if (header === undefined)
    return { status: 'fail', summary: `no Authentication-Results header from ${authservId}` };
  const parsed = parseAuthenticationResults(header);
  if (!parsed)
    return { status: 'fail', summary: `the Authentication-Results header of ${authservId} is malformed` };
  const domain = domainOf(from);
  const describe = (r: AuthenticationResult) =>
    [
      `${r.method}=${r.result}`,
      ...Object.entries(r.properties)
        .filter(([k]) => k !== 'reason')
        .map(([k, v]) => `${k}=${v}`),
    ].join(' ');
  const relevant = parsed.results.filter((r) => r.method === 'dmarc' || r.method === 'dkim');
  const summary = `${authservId}: ${relevant.map(describe).join('; ') || 'no dkim or dmarc result'}`;
  const dmarc = parsed.results.filter(
    (r) => r.method === 'dmarc' && domainOf(r.properties['header.from'] ?? '') === domain,
  );
  if (dmarc.length > 0) {
    if (dmarc.every((r) => r.result === 'pass')) return { status: 'pass', summary };
    if (dmarc.some((r) => r.result === 'temperror') && !dmarc.some((r) => r.result === 'fail'))
      return { status: 'temperror', summary };
    if (!dmarc.every((r) => r.result === 'none')) return { status: 'fail', summary };
  }
  const dkim = parsed.results.filter((r) => r.method === 'dkim');
  const aligned = (r: AuthenticationResult) => {
    const d = dkimDomain(r);
    return d !== undefined && alignedWith(d, domain);
  };
  if (dkim.some((r) => r.result === 'pass' && aligned(r))) return { status: 'pass', summary };
  if (dkim.some((r) => r.result === 'temperror' && aligned(r))) return { status: 'temperror', summary };
  return { status: 'fail', summary };
}
