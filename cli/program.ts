import { Command } from 'commander';
import { registerCheckCommand } from './check-command';
import { registerSyncCommands } from './sync-commands';
import { registerTaskCommands } from './task-commands';
import { registerWorkerCommands } from './worker-commands';
import { EXIT } from './run-cli';

/** The `remote-completion` command with every product command; the dev CLI adds its own to it. */
export function createProgram(): Command {
  const program = new Command('remote-completion')
    .description('Complete or fail waiting Temporal workflow tasks by answering an email.')
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
    });

  registerWorkerCommands(program);
  registerTaskCommands(program);
  registerSyncCommands(program);
  registerCheckCommand(program);
  return program;
}

export function runProgram(program: Command): void {
  program.parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
