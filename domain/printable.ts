/**
 * Text from mail or users, made safe to show on a terminal or in a log: terminal escape sequences
 * (CSI such as `ESC[2K`, OSC such as window titles and hyperlinks, DCS/SOS/PM/APC strings, and
 * the short ESC forms) are removed whole, so their parameters do not leak as garbage; the C0 and
 * C1 control characters, DEL and the bidi embedding, override and isolate characters (which can
 * make text read in another order than it is stored) are removed. A multi-line text keeps its
 * newlines and tabs (a CR becomes a newline, so it cannot overwrite a line); a single line gets
 * a space for each. Linear: every pattern is a run of disjoint character classes.
 */
export function printableText(text: string, { multiline = false }: { multiline?: boolean } = {}): string {
  const lines = text.replace(ESCAPE_SEQUENCE, '').replace(/\r\n?/g, '\n');
  return multiline
    ? lines.replace(CONTROL_IN_TEXT, '')
    : lines.replace(/[\t\n\u0085\u2028\u2029]/g, ' ').replace(CONTROL, '');
}

/** Whether the text is one line without any character `printableText` would remove. */
export function isPrintableLine(text: string): boolean {
  return printableText(text) === text;
}

const ST = '(?:\\x07|\\x1b\\\\|\\x9c)';
const ESCAPE_SEQUENCE = new RegExp(
  [
    // CSI: parameters, intermediates, final byte.
    '(?:\\x1b\\[|\\x9b)[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]?',
    // OSC, DCS, SOS, PM, APC: a string up to its terminator (or the end of the line).
    `(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[^\\x07\\x1b\\x9c\\n]*${ST}?`,
    // Other escape sequences: intermediates and a final byte.
    '\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?',
  ].join('|'),
  'g',
);
const BIDI = '\\u202a-\\u202e\\u2066-\\u2069';
const CONTROL = new RegExp(`[\\x00-\\x1f\\x7f-\\x9f${BIDI}]`, 'g');
const CONTROL_IN_TEXT = new RegExp(`[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f${BIDI}]`, 'g');

/**
 * `JSON.stringify(value, null, 2)` with every character that `printableText` would remove written
 * as a `\u` escape: JSON escapes C0 controls itself, not DEL, C1 or bidi characters. The output
 * still parses to the same value.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    UNESCAPED_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const UNESCAPED_IN_JSON = new RegExp(`[\\x7f-\\x9f${BIDI}]`, 'g');
