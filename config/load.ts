import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema';

export const CONFIG_ENV = 'REMOTE_COMPLETION_CONFIG';
const ENV_PREFIX = 'REMOTE_COMPLETION_';

/** A configuration problem the user must fix; its message names the key and the fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `imap.fromAddress` -> `REMOTE_COMPLETION_IMAP_FROM_ADDRESS` */
export function envNameFor(key: string): string {
  return (
    ENV_PREFIX +
    key
      .replace(/\./g, '_')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toUpperCase()
  );
}

/** Every settable key, from the schema, e.g. `imap.port`. */
export function configKeys(): string[] {
  return Object.entries(configSchema.shape).flatMap(([section, schema]) =>
    Object.keys(unwrapObject(schema).shape).map((key) => `${section}.${key}`),
  );
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ConfigError(`config file ${file} does not exist: pass --config <path> or set ${CONFIG_ENV}`);
    throw new ConfigError(
      `config file ${file} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`config file ${file} must hold an object`);
  return parseConfig(applyEnvOverrides(raw as Record<string, unknown>, env), path.dirname(file));
}

export function parseConfig(raw: Record<string, unknown>, baseDir = process.cwd()): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssues(result.error, raw));
  const config = result.data;
  for (const section of [config.smtp, config.imap]) {
    if (section.ca) section.ca = path.resolve(baseDir, section.ca);
  }
  if (config.temporal.clientCert)
    config.temporal.clientCert = path.resolve(baseDir, config.temporal.clientCert);
  if (config.temporal.clientKey) config.temporal.clientKey = path.resolve(baseDir, config.temporal.clientKey);
  if (config.log.file) config.log.file = path.resolve(baseDir, config.log.file);
  return config;
}

function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const merged: Record<string, unknown> = structuredClone(raw);
  for (const key of configKeys()) {
    const value = env[envNameFor(key)];
    if (value === undefined) continue;
    const [section, name] = key.split('.') as [string, string];
    const current = merged[section];
    // Only here are lists comma-separated: a list in the file is never split.
    const setting = isListKey(section, name)
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
    merged[section] = {
      ...(typeof current === 'object' && current !== null ? current : {}),
      [name]: setting,
    };
  }
  return merged;
}

function describeIssues(error: z.ZodError, raw: Record<string, unknown>): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const given = issue.path.reduce<unknown>(
        (value, part) => (value as Record<PropertyKey, unknown> | undefined)?.[part],
        raw,
      );
      const missing = issue.code === 'invalid_type' && given === undefined;
      if (missing) return `${key}: missing: set it in the config file or ${envNameFor(key)}`;
      if (issue.code === 'unrecognized_keys') return `${key}: unknown key(s) ${issue.keys.join(', ')}`;
      return `${key}: ${issue.message}`;
    })
    .join('; ');
}

function isListKey(section: string, name: string): boolean {
  const sectionSchema = (configSchema.shape as Record<string, z.ZodType>)[section];
  if (!sectionSchema) return false;
  let current: z.ZodType | undefined = unwrapObject(sectionSchema).shape[name] as z.ZodType | undefined;
  // Through defaults, optionals and preprocess pipes to the schema underneath.
  while (current && !(current instanceof z.ZodArray)) {
    const def = (current as unknown as { def: { innerType?: z.ZodType; out?: z.ZodType } }).def;
    current = def.innerType ?? def.out;
  }
  return current instanceof z.ZodArray;
}

function unwrapObject(schema: z.ZodType): z.ZodObject {
  let current: z.ZodType = schema;
  while (!(current instanceof z.ZodObject)) {
    const inner = (current as unknown as { def: { innerType?: z.ZodType } }).def.innerType;
    if (!inner) throw new Error('config schema: expected an object section');
    current = inner;
  }
  return current;
}
