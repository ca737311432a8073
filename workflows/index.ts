// The workflow bundle's entry point: every workflow the worker runs.
export { remoteCompletionTask } from './task';
export { mailboxSync } from './mailbox-sync';
