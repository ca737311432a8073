import { asciiLowerCase } from './ascii-case';
import { detectAutomatedMail } from './auto-reply';
import type { EmailDecision } from './email-decision';
import type { InboundMail } from './inbound-mail';
import { printableText } from './printable';
import { htmlToOwnText, ownText } from './reply-text';
import { COMMENT_PROMPT, TOKEN_MARKER } from './request-email';
import { findTokens, verifyToken, type Action, type SigningKey, type TokenCheck } from './token';
import type { RejectCode } from './mail-outcome';
import { whitelistViolation, type WhitelistSettings } from './whitelist';

/** `temporary`: the sender could not be authenticated right now (DNS); a later try may succeed. */
export type Classification =
  | { outcome: 'decision'; workflowId: string; decision: EmailDecision; reason: string }
  | { outcome: RejectCode; reason: string; temporary?: boolean };

export interface ClassifyContext {
  keys: SigningKey[];
  whitelist: WhitelistSettings;
  ownAddresses: string[];
  now: number;
  /** Default 2000 characters. */
  maxCommentLength?: number;
}

/**
 * What one mail of the completion mailbox means. The token is taken from the subject and from
 * what the sender wrote, never from quoted text: a reply that quotes the request carries the
 * tokens of both actions.
 */
export function classifyMail(mail: InboundMail, ctx: ClassifyContext): Classification {
  const automated = detectAutomatedMail(mail, ctx.ownAddresses);
  if (automated !== undefined) return { outcome: 'auto-reply', reason: automated };
  if (ctx.whitelist.enabled) {
    // The completion mailbox is a recipient of every reply: its own domain need not be listed.
    const own = new Set(ctx.ownAddresses.map(asciiLowerCase));
    const others = (list: string[]) => list.filter((a) => !own.has(a));
    const refused = whitelistViolation(
      { ...mail, to: others(mail.to), cc: others(mail.cc) },
      ctx.whitelist.domains,
    );
    if (refused !== undefined) return { outcome: 'not-whitelisted', reason: refused };
  }

  const own = mail.text?.trim() ? ownText(mail.text) : mail.html ? htmlToOwnText(mail.html) : '';
  const tokens = [...new Set([...findTokens(mail.subject), ...findTokens(own)])];
  if (tokens.length === 0) {
    // Percent-encoded mailto links of a quoted request hide their tokens from TOKEN_PATTERN.
    const whole = `${mail.text ?? ''}\n${mail.html ?? ''}`.replace(/%[0-9a-f]{2}/gi, ' ');
    return findTokens(whole).length > 0
      ? { outcome: 'ambiguous', reason: 'reply quotes the request but names no action' }
      : { outcome: 'no-token', reason: 'no completion token in the subject or the text' };
  }
  if (new Set(tokens.map(actionOf)).size > 1) {
    return { outcome: 'ambiguous', reason: 'the reply names both complete and fail' };
  }

  const checks = tokens.map((token) => verifyToken(token, ctx.keys, ctx.now));
  const valid = checks.flatMap((check) => (check.ok ? [check.claims] : []));
  const claims = valid[0];
  if (claims === undefined) return rejected(checks.flatMap((check) => (check.ok ? [] : [check.reason]))[0]!);
  if (valid.some((c) => c.workflowId !== claims.workflowId || c.runId !== claims.runId)) {
    return { outcome: 'ambiguous', reason: 'the reply names more than one task' };
  }
  const { authentication } = mail;
  if (authentication.fromProblem !== undefined)
    return { outcome: 'sender-mismatch', reason: `From refused: ${authentication.fromProblem}` };
  const sender = authentication.from ?? '';
  if (mail.from === undefined || asciiLowerCase(mail.from.address) !== sender) {
    return {
      outcome: 'sender-mismatch',
      reason: `the From header reads as ${sender} on the wire but as ${mail.from?.address ?? 'nothing'} to the MIME parser`,
    };
  }
  if (sender !== asciiLowerCase(claims.recipient)) {
    return {
      outcome: 'sender-mismatch',
      reason: `sent by ${sender}, but the token was issued to ${claims.recipient}`,
    };
  }
  // After the token and sender checks: only a reply that would decide is held back by DNS trouble.
  if (authentication.status === 'fail' || authentication.status === 'temperror') {
    return {
      outcome: 'unauthenticated',
      reason: `the From domain of ${sender} is not authenticated (${authentication.mode}): ${authentication.summary}`,
      ...(authentication.status === 'temperror' ? { temporary: true } : {}),
    };
  }
  return {
    outcome: 'decision',
    reason: `${claims.action} by ${sender}, the token's recipient`,
    workflowId: claims.workflowId,
    decision: {
      runId: claims.runId,
      action: claims.action,
      sender,
      comment: commentOf(own, ctx.maxCommentLength ?? 2000),
      messageId: mail.messageId ?? `${mail.uidValidity}:${mail.uid}`,
      receivedAt: new Date(mail.receivedAt).toISOString(),
    },
  };
}

/** The action letter is the token's third field (see token.ts); read before any verification. */
function actionOf(token: string): Action {
  return token.split('.')[2] === 'c' ? 'complete' : 'fail';
}

function rejected(reason: Extract<TokenCheck, { ok: false }>['reason']): Classification {
  switch (reason) {
    case 'expired':
      return { outcome: 'expired', reason: 'the token has expired' };
    case 'unknown-key':
      return {
        outcome: 'bad-signature',
        reason: 'the token was signed with a secret that is not configured',
      };
    case 'malformed':
      return { outcome: 'bad-signature', reason: 'the token is malformed' };
    case 'bad-signature':
      return { outcome: 'bad-signature', reason: 'the token signature does not match' };
  }
}

/**
 * The sender's words: above the prompt of the pre-filled body, without lines naming a token, and
 * without control characters or terminal escape sequences (the comment is shown by the CLI).
 */
function commentOf(own: string, max: number): string {
  const lines: string[] = [];
  for (const line of printableText(own, { multiline: true }).split('\n')) {
    const flat = line.replace(/\s+/g, ' ').toLowerCase();
    if (flat.includes(COMMENT_PROMPT.toLowerCase()) || flat.includes(TOKEN_MARKER.toLowerCase())) break;
    if (findTokens(line).length === 0) lines.push(line.trimEnd());
  }
  const comment = lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  const chars = Array.from(comment);
  return chars.length <= max
    ? comment
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}
