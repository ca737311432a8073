import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { CONFIG_ENV, ConfigError, loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { createLogger } from '../worker/logger';
import { repoRoot } from '../dev/stack';
import { showStackTraces } from './run-cli';

export interface GlobalOptions {
  config?: string;
}

/** The embedded stack used by `npm start` and, when no config is given, by every command. */
export const embeddedStackDir = (): string => path.join(repoRoot(), '.stack', 'dev');

/** `--config`, else REMOTE_COMPLETION_CONFIG, else the embedded stack's generated config. */
export function resolveConfigPath(options: GlobalOptions): { file: string; embedded: boolean } {
  const explicit = options.config ?? process.env[CONFIG_ENV];
  if (explicit) return { file: path.resolve(explicit), embedded: false };
  return { file: path.join(embeddedStackDir(), 'config.yaml'), embedded: true };
}

export function readConfig(options: GlobalOptions): Config {
  const { file, embedded } = resolveConfigPath(options);
  if (embedded && !existsSync(file)) {
    throw new ConfigError(
      `no configuration: pass --config <file>, set ${CONFIG_ENV}, or run "npm start" to bring up the embedded stack`,
    );
  }
  const config = loadConfig(file);
  showStackTraces(config.log.level === 'debug' || config.log.level === 'trace');
  return config;
}

export function cliLogger(config: Config | undefined, stream: 'stdout' | 'stderr' = 'stderr'): Logger {
  return createLogger({ level: config?.log.level ?? 'info', file: config?.log.file, stream });
}

export function configOption(cmd: Command): Command {
  return cmd.option(
    '--config <path>',
    `config file (YAML or JSON); default: $${CONFIG_ENV}, else the embedded stack's`,
  );
}
