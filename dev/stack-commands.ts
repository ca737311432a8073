import path from 'node:path';
import type { Command } from 'commander';
import { cliLogger, configOption, readConfig, resolveConfigPath, type GlobalOptions } from '../cli/context';
import { command } from '../cli/run-cli';
import { runWorkerUntilStopped } from '../cli/worker-commands';
import { loadConfig } from '../config/load';
import { embeddedStackDir, recordWorker, runningWorker, stackDown, stackStatus, stackUp } from './stack';

/** The worker `npm start` runs also has the example parent workflow, so it can be tried locally. */
const devWorkflows = require.resolve('./workflows');

/** `start` and `stack up|down|status`: the development commands beside the product's. */
export function registerStackCommands(program: Command): void {
  configOption(program.command('start'))
    .description('bring up the embedded local stack (unless a config is given) and run the worker')
    .action(
      command(async (opts: GlobalOptions) => {
        const { file, embedded } = resolveConfigPath(opts);
        if (!embedded) {
          const config = readConfig(opts);
          await runWorkerUntilStopped(config, cliLogger(config, 'stdout'), { workflowsPath: devWorkflows });
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
        await runWorkerUntilStopped(config, log, {
          workflowsPath: devWorkflows,
          onRunning: () => recordWorker(dir),
        });
      }),
    );

  const stack = program
    .command('stack')
    .description('the embedded local stack: Temporal dev server, Dovecot, Postfix, dnsmasq, OpenDKIM');
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
            `  DNS        ${info.dns.server}  (DKIM, DMARC, SPF of the .test domains)\n` +
            `  DKIM       ${info.dkim.milter}  (OpenDKIM signs submitted mail)\n` +
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
