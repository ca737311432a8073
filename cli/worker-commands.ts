import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, loadConfig } from '../config/load';
import { checkMailServers } from '../worker/config-check';
import type { Config } from '../config/schema';
import { stackDown, stackStatus, stackUp } from '../stack';
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

const workerPidFile = (stackDir: string) => path.join(stackDir, 'worker.pid');

/** The pid of a live worker started for this stack, if any. */
export function runningWorkerPid(stackDir: string): number | undefined {
  const file = workerPidFile(stackDir);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    rmSync(file, { force: true });
    return undefined;
  }
}

async function runWorkerUntilStopped(config: Config, log: Logger, pidFile?: string): Promise<void> {
  // A wrong mail host or password should stop the start, not surface later as retries in the log.
  const problem = (await checkMailServers(config, log)).find((r) => !r.ok);
  if (problem)
    throw new ConfigError(`${problem.name}: ${problem.detail}${problem.fix ? `; fix: ${problem.fix}` : ''}`);
  const handle = await createWorker(config, log);
  if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);
  try {
    log.info(
      { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace },
      'worker running',
    );
    await handle.run();
    log.info('worker stopped');
  } finally {
    if (pidFile) rmSync(pidFile, { force: true });
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
        const running = runningWorkerPid(dir);
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
        await runWorkerUntilStopped(config, log, workerPidFile(dir));
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
        const worker = runningWorkerPid(dir);
        if (worker) await stopProcess(worker);
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
        const worker = runningWorkerPid(dir);
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

async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.kill(pid, 'SIGKILL');
}
