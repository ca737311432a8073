import type { Command } from 'commander';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load';
import { checkMailServers } from './config-check';
import type { Config } from '../config/schema';
import { guardWorkerExit } from '../worker/exit-guard';
import { createWorker, type CreateWorkerOptions } from '../worker/run-worker';
import { cliLogger, configOption, readConfig, type GlobalOptions } from './context';
import { command } from './run-cli';

export interface RunWorkerOptions extends CreateWorkerOptions {
  /** Called once the worker exists; what it returns is called when the worker has stopped. */
  onRunning?: () => () => void;
}

/** Runs the worker until it stops, then makes sure the process ends too (see guardWorkerExit). */
export async function runWorkerUntilStopped(
  config: Config,
  log: Logger,
  { onRunning, ...workerOptions }: RunWorkerOptions = {},
): Promise<void> {
  const exitGuard = guardWorkerExit(log);
  try {
    // A wrong mail host or password should stop the start, not surface later as retries in the log.
    const problem = (await checkMailServers(config, log)).find((r) => !r.ok);
    if (problem)
      throw new ConfigError(
        `${problem.name}: ${problem.detail}${problem.fix ? `; fix: ${problem.fix}` : ''}`,
      );
    const handle = await createWorker(config, log, workerOptions);
    exitGuard.attach(handle);
    const forget = onRunning?.();
    try {
      log.info(
        { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace },
        'worker running',
      );
      await handle.run();
      log.info('worker stopped');
    } finally {
      forget?.();
    }
  } finally {
    exitGuard.stopped();
  }
}

export function registerWorkerCommands(program: Command): void {
  configOption(program.command('worker'))
    .description('run the worker (task and mailbox-sync workflows) until SIGINT or SIGTERM')
    .action(
      command(async (opts: GlobalOptions) => {
        const config = readConfig(opts);
        await runWorkerUntilStopped(config, cliLogger(config, 'stdout'));
      }),
    );
}
