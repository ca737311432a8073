import path from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, loadConfig } from '../config/load';
import { checkMailServers } from '../worker/config-check';
import type { Config } from '../config/schema';
import { recordWorker, runningWorker, stackDown, stackStatus, stackUp } from '../stack';
import { guardWorkerExit, type ExitGuard } from '../worker/exit-guard';
import { createWorker } from '../worker/run-worker';
import {
  cliLogger,
  configOption,
  embeddedStackDir,
  readConfig,
  resolveConfigPath,
  type GlobalOptions,
} from './context';
import { command } from './run-cli';

/** Runs the worker until it stops, then makes sure the process ends too (see guardWorkerExit). */
async function runWorkerUntilStopped(config: Config, log: Logger, stackDir?: string): Promise<void> {
  const exitGuard = guardWorkerExit(log);
  try {
    await runWorker(config, log, exitGuard, stackDir);
  } finally {
    exitGuard.stopped();
  }
}

/** Runs the worker until it stops; `stackDir` records it as that stack's worker meanwhile. */
async function runWorker(
  config: Config,
  log: Logger,
  exitGuard: ExitGuard,
  stackDir?: string,
): Promise<void> {
  // A wrong mail host or password should stop the start, not surface later as retries in the log.
  const problem = (await checkMailServers(config, log)).find((r) => !r.ok);
  if (problem)
    throw new ConfigError(`${problem.name}: ${problem.detail}${problem.fix ? `; fix: ${problem.fix}` : ''}`);
  const handle = await createWorker(config, log);
  exitGuard.attach(handle);
  const forget = stackDir ? recordWorker(stackDir) : undefined;
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

  configOption(program.command('start'))
    .description('bring up the embedded local stack (unless a config is given) and run the worker')
    .action(
      command(async (opts: GlobalOptions) => {
        const { file, embedded } = resolveConfigPath(opts);
        if (!embedded) {
          const config = readConfig(opts);
          await runWorkerUntilStopped(config, cliLogger(config, 'stdout'));
          return;
        }
        const dir = embeddedStackDir();
        const bootLog = cliLogger(undefined, 'stdout');
        const running = await runningWorker(dir);
        if (running) {
          const status = await stackStatus({ dir, log: bootLog });
          process.stderr.write(
            `remote-completion is already running (worker pid ${running}); Temporal UI: ${status.info?.temporal.uiUrl ?? 'unknown'}\n` +
              'stop it with Ctrl-C in its terminal, or "npm run stack -- down"\n',
          );
          process.exitCode = 1;
          return;
        }
        const stack = await stackUp({ dir, log: bootLog });
        const config = loadConfig(file);
        const log = cliLogger(config, 'stdout');
        log.info(
          {
            temporalUi: stack.temporal.uiUrl,
            temporal: stack.temporal.address,
            smtp: `${stack.smtp.host}:${stack.smtp.port}`,
            imap: `${stack.imap.host}:${stack.imap.port}`,
            accounts: stack.accounts.map((a) => a.address),
            passwordsIn: path.join(dir, 'stack.json'),
            config: file,
          },
          `local stack ${stack.reused ? 'reused' : 'started'}; Temporal UI at ${stack.temporal.uiUrl}`,
        );
        await runWorkerUntilStopped(config, log, dir);
      }),
    );

  const stack = program
    .command('stack')
    .description('the embedded local stack: Temporal dev server, Dovecot, Postfix');
  const dirOption = (cmd: Command) => cmd.option('--dir <path>', 'stack data directory', embeddedStackDir());
  dirOption(stack.command('up'))
    .description('start the stack (reuses a healthy one) and write its config')
    .action(
      command(async (opts: { dir: string }) => {
        const info = await stackUp({ dir: path.resolve(opts.dir), log: cliLogger(undefined) });
        process.stdout.write(
          `${info.reused ? 'reused' : 'started'} local stack in ${info.dir}\n` +
            `  Temporal   ${info.temporal.address}  (UI ${info.temporal.uiUrl})\n` +
            `  SMTP       ${info.smtp.host}:${info.smtp.port}  (STARTTLS + AUTH)\n` +
            `  IMAP       ${info.imap.host}:${info.imap.port}  (TLS)\n` +
            `  accounts   ${info.accounts.map((a) => a.address).join(', ')}  (passwords in ${path.join(info.dir, 'stack.json')})\n` +
            `  config     ${info.configFile}\n`,
        );
      }),
    );
  dirOption(stack.command('down'))
    .description('stop the worker started by "npm start" and every stack process; data is kept')
    .action(
      command(async (opts: { dir: string }) => {
        const dir = path.resolve(opts.dir);
        await stackDown({ dir, log: cliLogger(undefined) });
        process.stdout.write(`stopped local stack in ${dir}\n`);
      }),
    );
  dirOption(stack.command('status'))
    .description('say what runs where')
    .action(
      command(async (opts: { dir: string }) => {
        const dir = path.resolve(opts.dir);
        const status = await stackStatus({ dir, log: cliLogger(undefined) });
        const worker = await runningWorker(dir);
        const lines = status.services.map(
          (s) =>
            `  ${s.name.padEnd(10)} ${s.alive ? 'running' : 'stopped'}${s.pid ? ` pid ${s.pid}` : ''}${s.where ? `  ${s.where}` : ''}`,
        );
        lines.push(`  ${'worker'.padEnd(10)} ${worker ? `running pid ${worker}` : 'stopped'}`);
        process.stdout.write(
          `local stack in ${dir}: ${status.running ? 'running' : 'not running'}\n${lines.join('\n')}\n`,
        );
      }),
    );
}
