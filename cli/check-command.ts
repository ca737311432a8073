import type { Command } from 'commander';
import { runChecks, type CheckResult } from './config-check';
import { cliLogger, configOption, readConfig, type GlobalOptions } from './context';
import { command, EXIT } from './run-cli';

interface CheckOptions extends GlobalOptions {
  fix?: boolean;
  json?: boolean;
}

function formatCheck({ name, ok, warning, detail, fix }: CheckResult): string {
  const status = !ok ? 'problem' : warning ? 'warning' : 'ok';
  return `${status.padEnd(8)} ${name.padEnd(9)} ${detail}${fix ? `; fix: ${fix}` : ''}`;
}

export function registerCheckCommand(program: Command): void {
  configOption(program.command('check'))
    .description(
      'test the configuration and the connections to Temporal, SMTP and IMAP; exit 1 on any problem',
    )
    .option('--fix', 'register missing search attributes in the namespace')
    .option('--json', 'print JSON for scripts')
    .action(
      command(async (opts: CheckOptions) => {
        const config = readConfig(opts);
        const results = await runChecks(config, { fix: opts.fix ?? false, log: cliLogger(config) });
        process.stdout.write(
          `${opts.json ? JSON.stringify(results, null, 2) : results.map(formatCheck).join('\n')}\n`,
        );
        if (results.some((r) => !r.ok)) process.exitCode = EXIT.error;
      }),
    );
}
