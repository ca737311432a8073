import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { createMailboxActivities, type MessageClassifier } from '../activities/mailbox';
import { createTaskMailActivities } from '../activities/task-mail';
import { keyring } from '../domain/token';

export interface ActivityDeps {
  config: Config;
  transport: Transporter;
  log: Logger;
  /** Worker threads for reading mail; their owner closes them. */
  classifier: MessageClassifier;
}

/** Every activity the worker registers, bound to their I/O dependencies. */
export function createActivities({ config, transport, log, classifier }: ActivityDeps) {
  const keys = keyring(config.signature.secrets);
  return {
    ...createTaskMailActivities({ config, transport, keys, log: log.child({ module: 'task-mail' }) }),
    ...createMailboxActivities({ config, keys, log: log.child({ module: 'mailbox' }), classifier }),
  };
}
