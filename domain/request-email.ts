import { buildMailto } from './mailto';
import { escapeHtml, renderMarkdownSafe } from './markdown';
import type { Channel, Outcome } from './task-status';
import { findTokens } from './token';

/**
 * The request email (Complete / Fail buttons) and the confirmation email sent once a task closes.
 *
 * Each button is a `mailto:` link to the completion mailbox carrying the recipient's token twice:
 * in the subject and in the pre-filled body, so the reply is recognised even if its subject is
 * edited. Task text comes from workflow input and is escaped wherever it appears.
 */
export interface RequestEmailInput {
  taskId: string;
  workflowId: string;
  title: string;
  /** Markdown or plain text. */
  description?: string;
  recipient: { address: string; name?: string };
  /** The completion mailbox: Reply-To of the request and target of both buttons. */
  completionAddress: string;
  completeToken: string;
  failToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  requester?: string;
  /** Shown as a small table of key / value rows. */
  context?: Record<string, string>;
  /** Subject prefixed "Reminder: ". */
  reminder?: boolean;
  /** Message-ID of this request, with angle brackets; the buttons' replies then thread under it. */
  messageId?: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export interface ConfirmationEmailInput {
  title: string;
  taskId: string;
  outcome: Outcome;
  decidedBy?: string;
  comment?: string;
  channel?: Channel;
  /** Epoch milliseconds. */
  decidedAt: number;
}

const SUBJECT_MAX = 150;
/** Leaves room in the button subjects for the token, which must never be cut. */
const BUTTON_TITLE_MAX = 80;
export const COMMENT_PROMPT = 'Write your comment above this line (optional).';
export const TOKEN_MARKER = '---- Do not change the lines below: they identify you and your answer. ----';

/** One line of header-safe text: control characters and line breaks become spaces; capped at `max`. */
export function sanitizeHeaderText(s: string, max: number): string {
  const line = s.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  const chars = Array.from(line);
  if (chars.length <= max) return line;
  const kept = chars.slice(0, max - 1).join('');
  return `${kept.trimEnd()}…`;
}

export function renderRequestEmail(input: RequestEmailInput): RenderedEmail {
  for (const token of [input.completeToken, input.failToken]) {
    if (findTokens(token)[0] !== token) throw new Error('request email: token is not a completion token');
  }
  const title = oneLine(input.title);
  const subject = sanitizeHeaderText(
    `${input.reminder ? 'Reminder: ' : ''}Action required: ${title}`,
    SUBJECT_MAX,
  );
  const buttonTitle = sanitizeHeaderText(title, BUTTON_TITLE_MAX);
  const buttons = [
    { label: 'Complete task', token: input.completeToken, color: '#1a7f37' },
    { label: 'Fail task', token: input.failToken, color: '#b42318' },
  ].map((b) => ({
    ...b,
    href: buildMailto(input.completionAddress, {
      subject: `${b.label}: ${buttonTitle} [${b.token}]`,
      body: ['', '', COMMENT_PROMPT, TOKEN_MARKER, `Token: ${b.token}`, ''].join('\r\n'),
      inReplyTo: input.messageId,
    }),
  }));
  const name = input.recipient.name === undefined ? '' : oneLine(input.recipient.name);
  const greeting = name === '' ? 'Hello,' : `Hello ${name},`;
  const intro =
    input.requester === undefined
      ? 'A workflow is waiting for you to complete or fail this task.'
      : `${oneLine(input.requester)} asks you to complete or fail this task.`;
  const details: [string, string][] = [
    ...Object.entries(input.context ?? {}).map(([k, v]): [string, string] => [oneLine(k), oneLine(v)]),
    ['Task id', oneLine(input.taskId)],
    ['Workflow id', oneLine(input.workflowId)],
    ['Expires', formatTime(input.expiresAt)],
  ];
  const description = input.description?.trim() ?? '';
  const to = input.completionAddress;

  const text = [
    title,
    '',
    greeting,
    '',
    intro,
    ...(description === '' ? [] : ['', description]),
    '',
    ...details.map(([k, v]) => `${k}: ${v}`),
    '',
    `To answer, send an email to ${to} with one of the subjects below`,
    '(when replying to this email, replace its subject):',
    '',
    `  To complete the task:  Complete task [${input.completeToken}]`,
    '',
    `  To fail the task:      Fail task [${input.failToken}]`,
    '',
    'Send only one of them. Anything you write in the body is recorded as your comment.',
    '',
  ].join('\n');

  const buttonCells = buttons
    .map(
      (b) =>
        `<td style="padding:0 12px 12px 0;"><table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>` +
        `<td bgcolor="${b.color}" style="border-radius:6px;background-color:${b.color};">` +
        `<a href="${escapeHtml(b.href)}" style="display:inline-block;padding:14px 28px;border:2px solid ${b.color};` +
        `border-radius:6px;background-color:${b.color};color:#ffffff;font-family:${FONT};font-size:16px;` +
        `font-weight:bold;text-decoration:none;">${b.label}</a></td></tr></table></td>`,
    )
    .join('');
  const rows = [
    `<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3;">${escapeHtml(title)}</h1>`,
    `<p style="margin:0 0 12px;">${escapeHtml(greeting)}</p>`,
    `<p style="margin:0 0 12px;">${escapeHtml(intro)}</p>`,
    description === '' ? '' : `<div style="margin:0 0 12px;">${renderMarkdownSafe(description)}</div>`,
    detailsTable(details),
    `<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 4px;"><tr>${buttonCells}</tr></table>`,
    `<p style="margin:0 0 12px;">Each button opens a reply in your mail program. Add a comment above the marked line if you like, then send it.</p>`,
    // Tokens are long unbroken strings: let them wrap, or they widen the column on phones.
    `<p style="margin:0;font-size:13px;word-break:break-all;">No buttons? Reply to ${escapeHtml(to)} with the subject ` +
      `<code>Complete task [${escapeHtml(input.completeToken)}]</code> or ` +
      `<code>Fail task [${escapeHtml(input.failToken)}]</code>.</p>`,
  ];
  return { subject, text, html: layout(subject, rows) };
}

const OUTCOME_WORDS: Record<Outcome, { subject: string; verb: string }> = {
  completed: { subject: 'Completed', verb: 'was completed' },
  failed: { subject: 'Failed', verb: 'was marked as failed' },
  'timed-out': { subject: 'Timed out', verb: 'timed out' },
  cancelled: { subject: 'Cancelled', verb: 'was cancelled' },
};

export function renderConfirmationEmail(input: ConfirmationEmailInput): RenderedEmail {
  const words = OUTCOME_WORDS[input.outcome];
  const title = oneLine(input.title);
  const subject = sanitizeHeaderText(`${words.subject}: ${title}`, SUBJECT_MAX);
  const by = input.decidedBy === undefined ? '' : ` by ${oneLine(input.decidedBy)}`;
  const via = input.channel === 'email' ? ' by email' : input.channel === 'api' ? ' through the API' : '';
  const summary = `The task "${title}" ${words.verb}${by}${via} at ${formatTime(input.decidedAt)}.`;
  const comment = input.comment?.trim() ?? '';
  const taskLine = `Task id: ${oneLine(input.taskId)}`;

  const text = [summary, ...(comment === '' ? [] : ['', 'Comment:', comment]), '', taskLine, ''].join('\n');
  const rows = [
    `<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3;">${escapeHtml(subject)}</h1>`,
    `<p style="margin:0 0 12px;">${escapeHtml(summary)}</p>`,
    comment === ''
      ? ''
      : `<p style="margin:0 0 12px;"><strong>Comment:</strong><br>${escapeHtml(comment).replace(/\r\n|\r|\n/g, '<br>\n')}</p>`,
    `<p style="margin:0;font-size:13px;">${escapeHtml(taskLine)}</p>`,
  ];
  return { subject, text, html: layout(subject, rows) };
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

/**
 * Text and background colours are left to the mail client so its light or dark theme applies;
 * only the buttons set their own, white on a dark fill, which reads well on either theme.
 */
function layout(subject: string, rows: string[]): string {
  const body = rows
    .filter((row) => row !== '')
    .map((row) => `<tr><td style="padding:0;">${row}</td></tr>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="supported-color-schemes" content="light dark">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin:0;padding:0;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;font-family:${FONT};font-size:15px;line-height:1.5;text-align:left;">
${body}
</table>
</td></tr></table>
</body>
</html>
`;
}

function detailsTable(rows: [string, string][]): string {
  const cells = rows
    .map(
      ([k, v]) =>
        `<tr><td style="padding:4px 12px 4px 0;border-bottom:1px solid #8c8c8c;font-weight:bold;vertical-align:top;">${escapeHtml(k)}</td>` +
        `<td style="padding:4px 0;border-bottom:1px solid #8c8c8c;vertical-align:top;word-break:break-word;">${escapeHtml(v)}</td></tr>`,
    )
    .join('');
  return `<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 16px;font-size:14px;border-collapse:collapse;">${cells}</table>`;
}

function oneLine(s: string): string {
  return sanitizeHeaderText(s, Number.POSITIVE_INFINITY);
}

function formatTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
