import { detectAutomatedMail } from './auto-reply';
import type { InboundMail } from './inbound-mail';
import { htmlToOwnText, ownText } from './reply-text';
import { COMMENT_PROMPT, TOKEN_MARKER } from './request-email';
import { findTokens, tokenAction, verifyToken, type Action, type SigningKey, type TokenCheck } from './token';
import { whitelistViolation } from './whitelist';

/** `oversized` and `unparseable` are decided by the caller, before there is an InboundMail. */
export type RejectCode =
  | 'no-token'
  | 'ambiguous'
  | 'bad-signature'
  | 'expired'
  | 'sender-mismatch'
  | 'not-whitelisted'
  | 'auto-reply'
  | 'oversized'
  | 'unparseable';

export interface Decision {
  workflowId: string;
  /** The first run id, from an rc1 token. */
  runId?: string;
  /** The first run id's tag, from an rc2 token; the task workflow compares it with its own. */
  runTag?: string;
  action: Action;
  sender: string;
  comment: string;
  messageId: string;
  receivedAt: number;
}

export type Classification =
  { outcome: 'decision'; decision: Decision; reason: string } | { outcome: RejectCode; reason: string };

export interface ClassifyContext {
  keys: SigningKey[];
  whitelist: { enabled: boolean; domains: string[] };
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
    const own = new Set(ctx.ownAddresses.map((a) => a.toLowerCase()));
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
  if (new Set(tokens.map(tokenAction)).size > 1) {
    return { outcome: 'ambiguous', reason: 'the reply names both complete and fail' };
  }

  const sender = mail.from?.address.toLowerCase();
  const checks = tokens.map((token) => verifyToken(token, ctx.keys, ctx.now, sender));
  const valid = checks.flatMap((check) => (check.ok ? [check.claims] : []));
  const claims = valid[0];
  const failure = checks.find((check) => !check.ok);
  if (claims === undefined) return rejected(failure!, sender);
  if (valid.some((c) => c.workflowId !== claims.workflowId || c.runTag !== claims.runTag)) {
    return { outcome: 'ambiguous', reason: 'the reply names more than one task' };
  }
  return {
    outcome: 'decision',
    reason: `${claims.action} by ${claims.recipient}, the token's recipient`,
    decision: {
      workflowId: claims.workflowId,
      ...(claims.runId === undefined ? { runTag: claims.runTag } : { runId: claims.runId }),
      action: claims.action,
      sender: claims.recipient,
      comment: commentOf(own, ctx.maxCommentLength ?? 2000),
      messageId: mail.messageId ?? `uid:${mail.uid}`,
      receivedAt: mail.receivedAt,
    },
  };
}

function rejected(check: Extract<TokenCheck, { ok: false }>, sender: string | undefined): Classification {
  switch (check.reason) {
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
    case 'sender-mismatch':
      return {
        outcome: 'sender-mismatch',
        reason: `sent by ${sender ?? 'no sender'}, but the token was issued to ${check.issuedTo ?? 'another address'}`,
      };
  }
}

/** The sender's words: above the prompt of the pre-filled body, without lines naming a token. */
function commentOf(own: string, max: number): string {
  const lines: string[] = [];
  for (const line of own.split('\n')) {
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
