import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

/**
 * What the sender of a reply wrote, apart from what the mail client added: `>`-quoted lines, the
 * header that introduces a quote ("On ... wrote:", "From: / Sent:", "-----Original Message-----"),
 * forwarded messages, signatures and sign-offs ("-- ", "Sent from my iPhone"). Line heuristics,
 * checked against real replies from many clients and languages (test/fixtures/reply-trimming).
 *
 * The text above the first such boundary is the sender's; `>`-quoted lines are dropped wherever they
 * are, so answers written between quotes are kept. When nothing is written above a reply header,
 * the header and the `>`-quoted block under it are skipped and what follows is the sender's (bottom
 * posting); unquoted text right under such a header is the quoted mail itself (Outlook) and yields
 * nothing. Under a forwarded-message header, the forwarded text is the content.
 */
export function ownText(text: string): string {
  const lines = ownLines(text.replace(/\r\n?/g, '\n').split('\n'));
  while (lines.length > 0 && isSeparator(lines[lines.length - 1]!)) lines.pop();
  const first = lines.findIndex((line) => !isBlank(line));
  return first === -1 ? '' : lines.slice(first).join('\n').trimEnd();
}

/**
 * `ownText` of an HTML body. Each `<blockquote>` (nested ones included) is dropped and leaves a `>`
 * line behind so the header above it is recognised as introducing a quote; a Gmail, Outlook,
 * Yahoo or Proton quote container is dropped with everything after it.
 */
export function htmlToOwnText(html: string): string {
  return ownText(new HtmlTextReader(html).read());
}

/**
 * The visible text of HTML, read with htmlparser2's tokenizer (which decodes every HTML entity).
 * Not its Parser: that keeps a stack of open elements whose upkeep is quadratic on deep or
 * unbalanced markup. Nesting matters here only for blockquotes, and a counter is enough.
 */
class HtmlTextReader implements TokenizerCallbacks {
  private readonly tokenizer = new Tokenizer({ decodeEntities: true }, this);
  private out = '';
  private lineHasText = false;
  private quoteDepth = 0;
  /** The head, style, script or title element being skipped. */
  private hidden: string | undefined;
  private tagName = '';
  private attributeName: string | undefined;
  private attributeValue = '';
  private attributes = new Map<string, string>();
  /** A quote container was met: everything after it is the quoted mail. */
  private done = false;

  constructor(private readonly html: string) {}

  read(): string {
    this.tokenizer.write(this.html);
    this.tokenizer.end();
    return this.out
      .split('\n')
      .map((line) => line.trim())
      .join('\n');
  }

  ontext(start: number, end: number): void {
    this.text(this.html.slice(start, end).replace(/[ \t\r\n\f]+/g, ' '));
  }

  ontextentity(codePoint: number): void {
    this.text(codePoint === 0xa0 ? ' ' : String.fromCodePoint(codePoint));
  }

  onopentagname(start: number, end: number): void {
    this.tagName = this.html.slice(start, end).toLowerCase();
    this.attributes.clear();
  }

  onattribname(start: number, end: number): void {
    const name = this.html.slice(start, end).toLowerCase();
    this.attributeName = (name === 'class' || name === 'id') && !this.attributes.has(name) ? name : undefined;
    this.attributeValue = '';
  }

  onattribdata(start: number, end: number): void {
    if (this.attributeName) this.attributeValue += this.html.slice(start, end);
  }

  onattribentity(codePoint: number): void {
    if (this.attributeName) this.attributeValue += String.fromCodePoint(codePoint);
  }

  onattribend(): void {
    if (this.attributeName) this.attributes.set(this.attributeName, this.attributeValue);
    this.attributeName = undefined;
  }

  onopentagend(): void {
    this.openTag(this.tagName);
  }

  onselfclosingtag(): void {
    this.openTag(this.tagName); // HTML ignores the slash: <div/> opens a div
  }

  onclosetag(start: number, end: number): void {
    if (this.done) return;
    const name = this.html.slice(start, end).toLowerCase();
    if (this.hidden !== undefined) {
      if (name === this.hidden) this.hidden = undefined;
    } else if (name === 'blockquote') {
      if (this.quoteDepth > 0) this.quoteDepth--;
    } else if (this.quoteDepth === 0) {
      this.layout(name);
    }
  }

  oncomment(): void {}
  oncdata(): void {}
  ondeclaration(): void {}
  onprocessinginstruction(): void {}
  onend(): void {}

  private openTag(name: string): void {
    if (this.done) return;
    if (this.hidden !== undefined) {
      // A head left open ends where the body begins.
      if (!(this.hidden === 'head' && name === 'body')) return;
      this.hidden = undefined;
    }
    if (HIDDEN_ELEMENTS.has(name)) {
      this.hidden = name;
    } else if (name === 'blockquote') {
      if (this.quoteDepth++ === 0) {
        if (this.lineHasText) this.newline();
        this.out += '>';
        this.newline();
      }
    } else if (this.quoteDepth === 0) {
      if (isQuoteContainer(this.attributes)) {
        this.done = true;
        this.tokenizer.pause();
      } else {
        this.layout(name);
      }
    }
  }

  /** What an element's start or end tag adds to the text. */
  private layout(name: string): void {
    if (name === 'br') this.newline();
    else if (name === 'td' || name === 'th') this.out += ' ';
    else if (BLOCK_ELEMENTS.has(name) && this.lineHasText) this.newline();
  }

  private text(text: string): void {
    if (this.done || this.hidden !== undefined || this.quoteDepth > 0) return;
    this.out += text;
    this.lineHasText ||= text.trim() !== '';
  }

  private newline(): void {
    this.out += '\n';
    this.lineHasText = false;
  }
}

type Boundary = { kind: 'reply' | 'forward' | 'signature'; start: number; end: number };

function ownLines(lines: string[]): string[] {
  let from = 0;
  for (;;) {
    const boundary = findBoundary(lines, from);
    const above = lines.slice(from, boundary?.start).filter((line) => !isQuoted(line));
    if (!boundary || boundary.kind === 'signature' || above.some((line) => /[\p{L}\p{N}]/u.test(line))) {
      return above;
    }
    from = boundary.end + 1;
    if (boundary.kind === 'reply') {
      while (from < lines.length && isBlank(lines[from]!)) from++;
      if (from === lines.length || !isQuoted(lines[from]!)) return [];
      while (from < lines.length && (isQuoted(lines[from]!) || isBlank(lines[from]!))) from++;
    }
  }
}

function findBoundary(lines: string[], from: number): Boundary | undefined {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length > MAX_HEADER_LINE || isBlank(line)) continue;
    if (/^-- ?$/.test(line) || isSignOff(line)) return { kind: 'signature', start: i, end: lines.length - 1 };
    const marker = DASHED.exec(line)?.[1];
    if ((marker !== undefined && MESSAGE_WORD.test(marker)) || BEGIN_FORWARD.test(line)) {
      const kind = FORWARD_WORD.test(line) ? 'forward' : 'reply';
      let next = i + 1;
      while (next < lines.length && isBlank(lines[next]!)) next++;
      return { kind, start: i, end: FIELD.test(lines[next] ?? '') ? blockEnd(lines, next) : i };
    }
    if (FROM_FIELD.test(line) && FIELD.test(lines[i + 1] ?? ''))
      return { kind: 'reply', start: i, end: blockEnd(lines, i) };
    if (DATED_HEADER.test(line)) {
      const end = !/:\s*$/.test(line) && /:\s*$/.test(lines[i + 1] ?? '') ? i + 1 : i;
      return { kind: 'reply', start: i, end };
    }
    const start = attributionStart(lines, from, i);
    if (start !== undefined) return { kind: 'reply', start, end: i };
  }
  return undefined;
}

/**
 * Where the attribution ending on line `end` ("On <date>, <name> wrote:") begins. Clients wrap it
 * over several lines, Gmail even across blank lines around a stray `<` / `mailto:` fragment. It must
 * hold a date or an address so that a sentence ending in "wrote:" is not taken for one.
 */
function attributionStart(lines: string[], from: number, end: number): number | undefined {
  if (!/[:：]$|--$/.test(lines[end]!.trimEnd())) return undefined;
  let joined = '';
  for (let s = end; s >= from && s >= end - 5; s--) {
    const line = lines[s]!;
    const trimmed = line.trim();
    if (trimmed === '') {
      if (/^\s*(?:<|mailto:)/i.test(lines[s + 1]!)) continue;
      return undefined;
    }
    if (line.length > MAX_HEADER_LINE || (s < end && isQuoted(line))) return undefined;
    joined = joined === '' ? trimmed : `${trimmed} ${joined}`;
    // A fragment of a wrapped attribution cannot be its first line.
    if (/^(?:[<>]|mailto:)/i.test(trimmed) || !/[\d@]/.test(joined)) continue;
    const wrote = WROTE.exec(withoutTerminator(joined));
    // A verb followed by more than the colon must be followed by a name <address> or a time.
    if (wrote && (wrote[1]!.trim() === '' || /@|\d[:.]\d\d/.test(wrote[1]!))) {
      const first = Math.max(from, end - 5);
      while (s > first && (lines[s - 1]!.trimEnd().endsWith('<') || INTRO.test(lines[s - 1]!))) s--;
      return s;
    }
  }
  return undefined;
}

/** The text before the final `:` or `--` (string operations: a regex here would be quadratic). */
function withoutTerminator(text: string): string {
  let end = text.length;
  if (/[:：]/.test(text.charAt(end - 1))) end--;
  else while (text.charAt(end - 1) === '-') end--;
  return text.slice(0, end).trimEnd();
}

function blockEnd(lines: string[], start: number): number {
  let end = start;
  while (end + 1 < lines.length && !isBlank(lines[end + 1]!)) end++;
  return end;
}

function isSignOff(line: string): boolean {
  const bare = line
    .replace(/\[([^[\]]*)\]\([^()]*\)/g, '$1')
    .replace(/<https?:[^<>]*>/g, '')
    .replace(/^[\s(<*_]+/, '');
  return bare.length <= 100 && SIGN_OFF.test(bare);
}

/** Longer lines are never headers; the cap also bounds the cost of the line patterns below. */
const MAX_HEADER_LINE = 300;
const isBlank = (line: string): boolean => line.trim() === '';
const isQuoted = (line: string): boolean => /^\s*>/.test(line);
/** Rulers left above a cut quote header; ᐧ is a tracking glyph some Gmail extensions append. */
const isSeparator = (line: string): boolean => /^[\s\-_=*ᐧ]*$/.test(line);

const WROTE = new RegExp(
  '(?<!\\p{L})(?:wrote|writes|schrieb|schreef|geschreven|a écrit|escribió|escreveu|ha scritto|skrev|' +
    'napisał\\(a\\)|napisała|napisał|написала|написал|пише|写道|kirjoitti|írta|napsal|yazdı)' +
    '(?!\\p{L})(.{0,80})$',
  'iu',
);
const INTRO = /^\s*(?:on|at|le|am|op|el|em|il|den|dnia)\s.*\d/i;
/** Gmail in some locales: "2016-10-24 15:36 GMT+02:00 Name <address>:", or with no verb at all. */
const DATED_HEADER = /^\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s.*(?:\d:\d\d GMT[+-]\d|<[^\s<>]*@)/;

const FROM_KEYS = 'from|von|de|da|van|från|fra|od|от|від|发件人|kimden|lähettäjä|mittente|remitente';
const OTHER_KEYS =
  'sent|date|to|cc|bcc|subject|reply-to|gesendet|datum|an|betreff|data|a|oggetto|inviato|risposta|' +
  'enviado|fecha|para|asunto|envoyé|à|objet|verzonden|aan|onderwerp|skickat|till|ämne|sendt|til|emne|' +
  'wysłano|do|temat|дата|отправлено|кому|тема|надіслано|收件人|发送时间|主题|日期|gönderildi|kime|konu|' +
  'lähetetty|vastaanottaja|aihe';
const FROM_FIELD = new RegExp(`^\\s*\\*?(?:${FROM_KEYS})\\*?\\s*[:：]`, 'i');
const FIELD = new RegExp(`^\\s*\\*?(?:${FROM_KEYS}|${OTHER_KEYS})\\*?\\s*[:：]`, 'i');

/** "-----Original Message-----", "---------- Forwarded message ---------" and translations. */
const DASHED = /^[\s*]*--+([^-]+(?:-[^-]+)*)--+[\s*]*$/;
const MESSAGE_WORD =
  /message|nachricht|mensaje|messaggio|bericht|mensagem|meddelande|melding|viesti|wiadomość|сообщение|повідомлення|zpráva|üzenet|邮件/i;
const FORWARD_WORD =
  /forward|weitergeleitet|transféré|reenviado|encaminhad|inoltrat|doorgestuurd|videresend|vidarebefordra|przekazan|пересла/i;
const BEGIN_FORWARD =
  /^\s*(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado)\s*:\s*$/i;

const SIGN_OFF = new RegExp(
  '^(?:' +
    [
      'sent (?:from|with|via|by|using) (?:my\\b|(?:an? )?(?:mobile|phone|iphone|ipad|ipod|android|outlook|mail|mailbox|airmail|windows|yahoo|samsung|galaxy|blackberry|cell|gmail|proton|spark)\\b)',
      'from my (?:iphone|ipad|android|mobile|phone|smartphone)\\b',
      'get (?:the )?outlook for\\b',
      '(?:envoyé|enviado|inviato|verzonden|sendt|skickat|wysłane|отправлено) (?:depuis|desde|do|da|dal|de|vanaf|met|fra|från|z|с)\\s',
      'von meine[mr]? .{1,40} gesendet',
      'diese nachricht wurde von .{1,80} gesendet',
      '发自我的',
    ].join('|') +
    ')',
  'iu',
);

const HIDDEN_ELEMENTS = new Set(['head', 'style', 'script', 'title']);
const BLOCK_ELEMENTS = new Set(
  'address article aside body center dd div dl dt figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tr ul'.split(
    ' ',
  ),
);
const QUOTE_CLASSES = new Set(['gmail_quote', 'yahoo_quoted', 'protonmail_quote']);
const QUOTE_IDS = new Set(['divrplyfwdmsg', 'appendonsend', 'mail-editor-reference-message-container']);

function isQuoteContainer(attributes: ReadonlyMap<string, string>): boolean {
  return (
    (attributes.get('class') ?? '').split(/\s+/).some((c) => QUOTE_CLASSES.has(c.toLowerCase())) ||
    QUOTE_IDS.has((attributes.get('id') ?? '').trim().toLowerCase())
  );
}
