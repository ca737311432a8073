import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { asciiLowerCase } from './ascii-case';
import { RUN_TAG_LENGTH, runTag } from './run-tag';
import { taskIdOf, taskWorkflowId } from './task-workflow-id';

/**
 * Completion tokens, in two formats (docs/developer-guide.md#tokens):
 *
 * - `rc2.<taskId>.<keyId><action><expiry>.<runTag><recipientTag>.<mac>`, the compact one, signed
 *   for every task whose workflow id is `remote-completion/<taskId>`. Only what routing needs
 *   travels (the task id); the run id and the recipient are bound by the MAC, so a reply verifies
 *   only for the address the request was sent to.
 * - `rc1.<keyId>.<action>.<expiry>.<workflowId>.<runId>.<recipient>.<mac>`, the first format,
 *   which carries the workflow id, run id and recipient in base64url. Still verified, so requests
 *   sent before the upgrade stay answerable; signed only for workflow ids rc2 cannot carry.
 */
export type Action = 'complete' | 'fail';
export type TokenVersion = 'rc1' | 'rc2';

/** What a token is signed for. */
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

/** What a verified token says. */
export interface VerifiedClaims {
  version: TokenVersion;
  workflowId: string;
  /** The first run id: rc1 tokens carry it. */
  runId?: string;
  /** The first run id's tag (run-tag.ts): rc2 tokens carry it; computed for rc1. */
  runTag: string;
  action: Action;
  /** Lower-case: the sender the token verified for. */
  recipient: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface SigningKey {
  id: string;
  secret: string;
}

export type TokenCheck =
  | { ok: true; claims: VerifiedClaims; keyId: string }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' }
  /** `issuedTo` is known for rc1 tokens only: rc2 tokens do not carry the recipient. */
  | { ok: false; reason: 'sender-mismatch'; issuedTo?: string };

const ACTION_CODES: Record<Action, string> = { complete: 'c', fail: 'f' };
const RC1_MAC = '[A-Za-z0-9_-]{43}';
const RC2_KEY_ID_LENGTH = 4;
const RC2_RECIPIENT_TAG_LENGTH = 3;
/** 16 bytes of HMAC-SHA256. */
const RC2_MAC_BYTES = 16;
const RC2_MAC = '[A-Za-z0-9_-]{22}';
const RC2_TASK_ID = '[A-Za-z0-9][A-Za-z0-9._-]{0,99}';
const RC2_HEADER = `[0-9a-f]{${RC2_KEY_ID_LENGTH}}[cf][0-9a-z]{1,8}`;
const RC2_BINDING = `[A-Za-z0-9_-]{${RUN_TAG_LENGTH + RC2_RECIPIENT_TAG_LENGTH}}`;

const RC1_SHAPE =
  'rc1\\.[a-z0-9]{8}\\.[cf]\\.[0-9a-z]{1,12}\\.[A-Za-z0-9_-]{1,400}\\.[A-Za-z0-9_-]{1,100}\\.[A-Za-z0-9_-]{1,400}\\.' +
  RC1_MAC;
const RC2_SHAPE = `rc2\\.${RC2_TASK_ID}\\.${RC2_HEADER}\\.${RC2_BINDING}\\.${RC2_MAC}`;

/**
 * Matches a token anywhere in text; mail clients keep it intact as it has no spaces or `=`.
 * Every repetition is bounded, so a match attempt reads at most about 1,400 characters and
 * the scan stays linear in the text.
 */
export const TOKEN_PATTERN = new RegExp(`\\b(?:${RC1_SHAPE}|${RC2_SHAPE})(?![A-Za-z0-9_-])`, 'g');

/** Key ids are derived from the secret so the configuration stays a plain list of secrets. */
export function keyring(secrets: readonly string[]): SigningKey[] {
  return secrets.map((secret) => ({
    id: createHash('sha256').update(`remote-completion key id\0${secret}`).digest('hex').slice(0, 8),
    secret,
  }));
}

/**
 * Signs with the first key: an rc2 token when the workflow id is a task workflow id in the
 * client's format, else (or when asked for) an rc1 token.
 */
export function signToken(
  claims: TokenClaims,
  keys: readonly SigningKey[],
  version: TokenVersion = 'rc2',
): string {
  const key = keys[0];
  if (!key) throw new Error('signature.secrets: at least one secret is required to sign tokens');
  const taskId = taskIdOf(claims.workflowId);
  return version === 'rc2' && taskId !== undefined ? signRc2(claims, taskId, key) : signRc1(claims, key);
}

/**
 * Verifies a token presented by `sender` (the reply's From address) at `now`: shape, key, MAC,
 * expiry, and that it was issued to the sender.
 */
export function verifyToken(
  token: string,
  keys: readonly SigningKey[],
  now: number,
  sender: string | undefined,
): TokenCheck {
  const trimmed = token.trim();
  if (trimmed.startsWith('rc2.'))
    return verifyRc2(trimmed, keys, now, sender === undefined ? undefined : asciiLowerCase(sender));
  if (trimmed.startsWith('rc1.'))
    return verifyRc1(trimmed, keys, now, sender === undefined ? undefined : asciiLowerCase(sender));
  return { ok: false, reason: 'malformed' };
}

/** The action a token names, read before any verification; undefined when it is no token. */
export function tokenAction(token: string): Action | undefined {
  const code = token.startsWith('rc1.') ? token.split('.')[2] : rc2Parts(token)?.action;
  return code === 'c' ? 'complete' : code === 'f' ? 'fail' : undefined;
}

/** All distinct token-shaped strings in the text, in order of appearance. */
export function findTokens(text: string): string[] {
  return [...new Set(text.match(TOKEN_PATTERN) ?? [])];
}

// --- rc2 -------------------------------------------------------------------------------------------

function signRc2(claims: TokenClaims, taskId: string, key: SigningKey): string {
  const recipient = asciiLowerCase(claims.recipient);
  const signed = [
    `rc2.${taskId}`,
    `${key.id.slice(0, RC2_KEY_ID_LENGTH)}${ACTION_CODES[claims.action]}${expiryField(claims.expiresAt)}`,
    `${runTag(claims.runId)}${recipientTag(key.secret, recipient)}`,
  ].join('.');
  return `${signed}.${rc2Mac(key.secret, signed, recipient)}`;
}

interface Rc2Parts {
  /** Everything before the MAC, which the MAC covers. */
  signed: string;
  taskId: string;
  keyId: string;
  action: string;
  expiry: string;
  runTag: string;
  recipientTag: string;
  mac: string;
}

const RC2_WHOLE = new RegExp(`^${RC2_SHAPE}$`);

/** The fields of an rc2 token, or undefined when it has not the shape; the task id may hold dots. */
function rc2Parts(token: string): Rc2Parts | undefined {
  if (token.length > 200 || !RC2_WHOLE.test(token)) return undefined;
  const macDot = token.lastIndexOf('.');
  const bindingDot = token.lastIndexOf('.', macDot - 1);
  const headerDot = token.lastIndexOf('.', bindingDot - 1);
  const header = token.slice(headerDot + 1, bindingDot);
  const binding = token.slice(bindingDot + 1, macDot);
  return {
    signed: token.slice(0, macDot),
    taskId: token.slice('rc2.'.length, headerDot),
    keyId: header.slice(0, RC2_KEY_ID_LENGTH),
    action: header.charAt(RC2_KEY_ID_LENGTH),
    expiry: header.slice(RC2_KEY_ID_LENGTH + 1),
    runTag: binding.slice(0, RUN_TAG_LENGTH),
    recipientTag: binding.slice(RUN_TAG_LENGTH),
    mac: token.slice(macDot + 1),
  };
}

function verifyRc2(token: string, keys: readonly SigningKey[], now: number, sender?: string): TokenCheck {
  const parts = rc2Parts(token);
  if (!parts) return { ok: false, reason: 'malformed' };
  // Four hex digits can name two configured secrets: try each.
  const candidates = keys.filter((k) => k.id.startsWith(parts.keyId));
  if (candidates.length === 0) return { ok: false, reason: 'unknown-key' };
  const key =
    sender === undefined
      ? undefined
      : candidates.find((k) => macMatches(rc2Mac(k.secret, parts.signed, sender), parts.mac));
  if (!key) {
    // The recipient tag tells a reply from another address apart from a token that was altered.
    const fromRecipient =
      sender !== undefined && candidates.some((k) => recipientTag(k.secret, sender) === parts.recipientTag);
    return fromRecipient ? { ok: false, reason: 'bad-signature' } : { ok: false, reason: 'sender-mismatch' };
  }
  const expiresAt = parseInt(parts.expiry, 36) * 1000;
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    keyId: key.id,
    claims: {
      version: 'rc2',
      workflowId: taskWorkflowId(parts.taskId),
      runTag: parts.runTag,
      action: parts.action === 'c' ? 'complete' : 'fail',
      recipient: sender!,
      expiresAt,
    },
  };
}

/** HMAC-SHA256 over the token's text before the MAC and the recipient, cut to 16 bytes. */
function rc2Mac(secret: string, signed: string, recipient: string): string {
  return createHmac('sha256', secret)
    .update(`${signed}\0${recipient}`)
    .digest()
    .subarray(0, RC2_MAC_BYTES)
    .toString('base64url');
}

/** A few characters of a keyed hash of the recipient: diagnostics only, the MAC binds the recipient. */
function recipientTag(secret: string, recipient: string): string {
  return createHmac('sha256', secret)
    .update(`rc2 recipient\0${recipient}`)
    .digest('base64url')
    .slice(0, RC2_RECIPIENT_TAG_LENGTH);
}

// --- rc1 -------------------------------------------------------------------------------------------

function signRc1(claims: TokenClaims, key: SigningKey): string {
  const parts = [
    'rc1',
    key.id,
    ACTION_CODES[claims.action],
    expiryField(claims.expiresAt),
    b64(claims.workflowId),
    b64(claims.runId),
    b64(asciiLowerCase(claims.recipient)),
  ];
  return `${parts.join('.')}.${rc1Mac(key.secret, parts)}`;
}

function verifyRc1(token: string, keys: readonly SigningKey[], now: number, sender?: string): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 8) return { ok: false, reason: 'malformed' };
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
  if (!action || !Number.isFinite(expiresAt) || !new RegExp(`^${RC1_MAC}$`).test(givenMac)) {
    return { ok: false, reason: 'malformed' };
  }
  const key = keys.find((k) => k.id === keyId);
  if (!key) return { ok: false, reason: 'unknown-key' };
  if (!macMatches(rc1Mac(key.secret, parts.slice(0, 7)), givenMac))
    return { ok: false, reason: 'bad-signature' };
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  const recipient = fromB64(recipientB64);
  if (sender !== recipient) return { ok: false, reason: 'sender-mismatch', issuedTo: recipient };
  const runId = fromB64(runIdB64);
  return {
    ok: true,
    keyId,
    claims: {
      version: 'rc1',
      workflowId: fromB64(workflowIdB64),
      runId,
      runTag: runTag(runId),
      action,
      recipient,
      expiresAt,
    },
  };
}

function rc1Mac(secret: string, parts: readonly string[]): string {
  return createHmac('sha256', secret).update(parts.join('\0')).digest('base64url');
}

// --- shared ----------------------------------------------------------------------------------------

/** Constant-time comparison of the expected and the given MAC text. */
function macMatches(expectedMac: string, givenMac: string): boolean {
  const expected = Buffer.from(expectedMac, 'utf8');
  const given = Buffer.from(givenMac, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Unix time in seconds, base 36. */
function expiryField(expiresAt: number): string {
  return Math.floor(expiresAt / 1000).toString(36);
}

function b64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

function fromB64(value: string): string {
  return Buffer.from(value, 'base64url').toString('utf8');
}
