import { randomBytes, randomUUID } from 'node:crypto';
import { keyring, signToken, type Action, type SigningKey } from '../../../domain/token';
import { taskWorkflowId } from '../../../workflows/definitions';
import { USERS } from './case-file';
import type { TokenVariant } from './render';

/** The task run a token is for. */
export interface TokenTarget {
  workflowId: string;
  runId: string;
}

const DAY = 86_400_000;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/**
 * Makes the corpus's tokens, good and bad, for a task run: signed with the configured keys like
 * the worker's own, or tampered with field by field (see domain/token.ts for the layout).
 */
export function tokenForge(keys: readonly SigningKey[]) {
  /** A secret that signed tokens once and is no longer configured; never written anywhere. */
  const removedKeys = keyring([randomBytes(32).toString('base64url')]);
  const otherWorkflow = () => taskWorkflowId(`corpus-other-${randomUUID()}`);

  return (target: TokenTarget, action: Action, recipient: string, variant: TokenVariant): string => {
    const claims = { ...target, action, recipient, expiresAt: Date.now() + DAY };
    const tampered = (token: string, field: number, value: string) => {
      const fields = token.split('.');
      fields[field] = value;
      return fields.join('.');
    };
    // Variants that rewrite a field only the older rc1 format carries sign rc1 (still accepted).
    switch (variant) {
      case 'valid':
        return signToken(claims, keys);
      case 'expired':
        return signToken({ ...claims, expiresAt: Date.now() - 60_000 }, keys);
      case 'bad-mac': {
        // The compact rc2 token: <version>.<taskId>.<keyId><action><expiry>.<binding>.<mac>.
        const token = signToken(claims, keys);
        const mac = token.split('.')[4]!;
        return tampered(token, 4, `${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`);
      }
      case 'flipped-action': {
        const token = signToken(claims, keys);
        const header = token.split('.')[2]!;
        return tampered(
          token,
          2,
          `${header.slice(0, 4)}${action === 'complete' ? 'f' : 'c'}${header.slice(5)}`,
        );
      }
      case 'removed-secret':
        return signToken(claims, removedKeys);
      case 'forged-key-id':
        // A fresh run id per call, so that many of them are distinct strings.
        return tampered(
          tampered(signToken({ ...claims, runId: randomUUID() }, removedKeys, 'rc1'), 1, keys[0]!.id),
          5,
          b64(target.runId),
        );
      case 'other-task-splice':
        return tampered(
          signToken({ ...claims, workflowId: otherWorkflow() }, keys, 'rc1'),
          4,
          b64(target.workflowId),
        );
      case 'other-recipient-splice':
        return tampered(signToken({ ...claims, recipient: USERS.carol }, keys, 'rc1'), 6, b64(recipient));
      case 'other-run':
        return signToken({ ...claims, runId: randomUUID() }, keys);
      case 'unknown-task':
        return signToken({ ...claims, workflowId: otherWorkflow() }, keys);
      case 'truncated':
        return signToken(claims, keys).slice(0, -5);
    }
  };
}
