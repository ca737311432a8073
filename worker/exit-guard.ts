import type { Logger } from 'pino';
import { SHUTDOWN_GRACE_MS, type WorkerHandle } from './run-worker';

/** How long a worker process may take to exit by itself once its worker has stopped. */
export const EXIT_MARGIN_MS = 3_000;
/** Exit code when the process had to be ended because something still held it open. */
export const EXIT_FORCED = 70;

const SIGNAL_EXIT_CODE: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface ExitGuard {
  /** The worker exists: a signal now drains it instead of ending the process at once. */
  attach(handle: WorkerHandle): void;
  /** The worker has stopped: the process must now end by itself within EXIT_MARGIN_MS. */
  stopped(): void;
}

/**
 * For a process that runs one worker (the CLI): SIGTERM or SIGINT drains the worker, and the
 * process ends at most SHUTDOWN_GRACE_MS + EXIT_MARGIN_MS later whatever is still open, naming
 * what was (a last resort: the worker closes its own connections and timers when it stops).
 * A signal before the worker exists, or a second signal, ends the process at once.
 */
export function guardWorkerExit(log: Logger): ExitGuard {
  let handle: WorkerHandle | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let signalled = false;

  const exitBy = (ms: number, why: string) => {
    if (deadline) clearTimeout(deadline);
    deadline = setTimeout(() => {
      log.error(
        { openResources: process.getActiveResourcesInfo(), afterMs: ms },
        `the process did not exit ${why}: ending it`,
      );
      process.exit(EXIT_FORCED);
    }, ms);
    // The deadline itself must never be what keeps the process alive.
    deadline.unref();
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (!handle || signalled) {
      log.info({ signal }, handle ? 'second signal: exiting now' : 'stopping before the worker started');
      process.exit(SIGNAL_EXIT_CODE[signal] ?? 1);
    }
    signalled = true;
    log.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, 'worker stopping: in-flight activities may finish');
    exitBy(
      SHUTDOWN_GRACE_MS + EXIT_MARGIN_MS,
      `within ${SHUTDOWN_GRACE_MS + EXIT_MARGIN_MS} ms of ${signal}`,
    );
    handle
      .shutdown()
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'worker stop failed'));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  return {
    attach(worker) {
      handle = worker;
    },
    stopped() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      if (!deadline) exitBy(EXIT_MARGIN_MS, `within ${EXIT_MARGIN_MS} ms of the worker stopping`);
    },
  };
}
