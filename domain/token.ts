import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { asciiLowerCase } from './ascii-case';

/**
 * Completion tokens: `rc1.<keyId>.<action>.<expiry>.<workflowId>.<runId>.<recipient>.<mac>`.
 *
 * The MAC is HMAC-SHA256 over version, key id, action, expiry, workflow id, run id and recipient.
 * The workflow id and recipient travel inside the token (base64url) so a reply can be routed and
 * its sender compared without any lookup; they are not secret, only unforgeable. The run id ties
 * the token to one run: a task id used again later does not accept the earlier run's replies.
 */
export type Action = 'complete' | 'fail';

export interface TokenClaims {
  workflowId: string;
  /** The task workflow's first execution run id. */
  runId: string;
  action: Action;
  /** Lower-case address the request was sent to. */
  recipient: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface SigningKey {
  id: string;
  secret: string;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims; keyId: string }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' };

const VERSION = 'rc1';
const ACTION_CODES: Record<Action, string> = { complete: 'c', fail: 'f' };
/** Matches a token anywhere in text; mail clients keep it intact as it has no spaces or `=`. */
export const TOKEN_PATTERN =
  /\brc1\.[a-z0-9]{8}\.[cf]\.[0-9a-z]{1,12}\.[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{1,100}\.[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;

/** Key ids are derived from the secret so the configuration stays a plain list of secrets. */
export function keyring(secrets: readonly string[]): SigningKey[] {
  return secrets.map((secret) => ({
    id: createHash('sha256').update(`remote-completion key id\0${secret}`).digest('hex').slice(0, 8),
    secret,
  }));
}

export function signToken(claims: TokenClaims, keys: readonly SigningKey[]): string {
  const key = keys[0];
  if (!key) throw new Error('signature.secrets: at least one secret is required to sign tokens');
  const recipient = asciiLowerCase(claims.recipient);
  const parts = [
    VERSION,
    key.id,
    ACTION_CODES[claims.action],
    Math.floor(claims.expiresAt / 1000).toString(36),
    b64(claims.workflowId),
    b64(claims.runId),
    b64(recipient),
  ];
  return `${parts.join('.')}.${mac(key.secret, parts)}`;
}

export function verifyToken(token: string, keys: readonly SigningKey[], now: number): TokenCheck {
  const parts = token.trim().split('.');
  if (parts.length !== 8 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const [, keyId, actionCode, expiry, workflowIdB64, runIdB64, recipientB64, givenMac] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const action = actionCode === 'c' ? 'complete' : actionCode === 'f' ? 'fail' : undefined;
  const expiresAt = parseInt(expiry, 36) * 1000;
  if (!action || !Number.isFinite(expiresAt) || !/^[A-Za-z0-9_-]{43}$/.test(givenMac)) {
    return { ok: false, reason: 'malformed' };
  }
  const key = keys.find((k) => k.id === keyId);
  if (!key) return { ok: false, reason: 'unknown-key' };
  const expected = Buffer.from(mac(key.secret, parts.slice(0, 7)), 'utf8');
  const given = Buffer.from(givenMac, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'bad-signature' };
  }
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    keyId,
    claims: {
      workflowId: Buffer.from(workflowIdB64, 'base64url').toString('utf8'),
      runId: Buffer.from(runIdB64, 'base64url').toString('utf8'),
      action,
      recipient: Buffer.from(recipientB64, 'base64url').toString('utf8'),
      expiresAt,
    },
  };
}

/** All distinct token-shaped strings in the text, in order of appearance. */
export function findTokens(text: string): string[] {
  return [...new Set(text.match(TOKEN_PATTERN) ?? [])];
}

function b64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

function mac(secret: string, parts: readonly string[]): string {
  return createHmac('sha256', secret).update(parts.join('\0')).digest('base64url');
}
