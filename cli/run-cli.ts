import { ConfigError } from '../config/load';
import { TaskInputError, WaitTimeoutError } from '../client/task-client';
import { printableText } from '../domain/printable';

/** Expected failures: their message is the whole story, so no stack trace. */
const USER_ERRORS = [ConfigError, TaskInputError];

export const EXIT = { error: 1, usage: 2, waitTimeout: 3 } as const;

let showStacks = false;
/** Turned on when the configured log level is debug or trace. */
export function showStackTraces(on: boolean): void {
  showStacks = on;
}

/** Wraps a command so any error becomes one line on stderr and a non-zero exit code. */
export function command<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const expected = USER_ERRORS.some((type) => error instanceof type);
      // Messages can quote input (a title, an address): print them as one printable line.
      process.stderr.write(`error: ${printableText(error.message.split('\n')[0]!)}\n`);
      if (showStacks && !expected && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exitCode = error instanceof WaitTimeoutError ? EXIT.waitTimeout : EXIT.error;
    }
  };
}
