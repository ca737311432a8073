import type { Command } from 'commander';
import { connectTemporal } from '../client/connect';
import { syncScheduleId, triggerSync } from '../worker/sync-schedule';
import { configOption, readConfig, type GlobalOptions } from './context';
import { command } from './run-cli';

export function registerSyncCommands(program: Command): void {
  const sync = program.command('sync').description('the scheduled mailbox sync');
  configOption(sync.command('now'))
    .description('read the completion mailbox now (queued behind a running sync, never parallel)')
    .action(
      command(async (opts: GlobalOptions) => {
        const config = readConfig(opts);
        const { client, connection } = await connectTemporal(config.temporal);
        try {
          await triggerSync(client, config.temporal.taskQueue);
          process.stdout.write(`triggered ${syncScheduleId(config.temporal.taskQueue)}\n`);
        } finally {
          await connection.close();
        }
      }),
    );
}
