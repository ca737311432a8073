import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { CONFIG_ENV, ConfigError, loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { createLogger } from '../worker/logger';
import { showStackTraces } from './run-cli';

export interface GlobalOptions {
  config?: string;
}

/** The config file to use when neither --config nor the environment names one. */
export interface FallbackConfig {
  file: string;
  /** Whose config it is, for the help text: "the embedded stack's". */
  owner: string;
  /** How to make the file exist, for the error when it does not. */
  howToCreate: string;
}

let fallback: FallbackConfig | undefined;

/** Set by the development CLI (the embedded stack's config); the product CLI has no fallback. */
export function setFallbackConfig(config: FallbackConfig): void {
  fallback = config;
}

/** `--config`, else REMOTE_COMPLETION_CONFIG, else the fallback (the embedded stack's generated config). */
export function resolveConfigPath(options: GlobalOptions): { file: string; embedded: boolean } {
  const explicit = options.config ?? process.env[CONFIG_ENV];
  if (explicit) return { file: path.resolve(explicit), embedded: false };
  if (!fallback) throw new ConfigError(`no configuration: pass --config <file> or set ${CONFIG_ENV}`);
  return { file: fallback.file, embedded: true };
}

export function readConfig(options: GlobalOptions): Config {
  const { file, embedded } = resolveConfigPath(options);
  if (embedded && !existsSync(file)) {
    throw new ConfigError(
      `no configuration: pass --config <file>, set ${CONFIG_ENV}, or ${fallback?.howToCreate ?? 'create it'}`,
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
    `config file (YAML or JSON); default: $${CONFIG_ENV}${fallback ? `, else ${fallback.owner}` : ''}`,
  );
}
