import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

/**
 * Looks through every log a test run wrote (the stack's and the tests') for the stack's account
 * passwords, their AUTH PLAIN encoding, and the signature secret. Returns what leaked where.
 */
export function findSecretsInLogs(stackDir: string): { files: number; leaks: string[] } {
  const state = JSON.parse(readFileSync(path.join(stackDir, 'stack.json'), 'utf8')) as {
    accounts: { address: string; password: string }[];
  };
  const config = readFileSync(path.join(stackDir, 'config.yaml'), 'utf8');
  const secrets = new Map<string, string>();
  for (const a of state.accounts) {
    secrets.set(a.password, `password of ${a.address}`);
    secrets.set(Buffer.from(a.password).toString('base64'), `base64 password of ${a.address}`);
    secrets.set(
      Buffer.from(`\0${a.address}\0${a.password}`).toString('base64'),
      `AUTH PLAIN of ${a.address}`,
    );
  }
  for (const m of config.matchAll(/^\s+- ([A-Za-z0-9_-]{32,})$/gm)) secrets.set(m[1]!, 'signature secret');
  if (secrets.size < 13)
    throw new Error('secrets check: could not find the passwords and the signature secret to look for');
  const logs = ['logs', 'test-logs'].flatMap((sub) => filesUnder(path.join(stackDir, sub)));
  const leaks: string[] = [];
  for (const file of logs) {
    const text = readFileSync(file, 'utf8');
    for (const [secret, what] of secrets)
      if (text.includes(secret)) leaks.push(`${path.relative(stackDir, file)}: ${what}`);
  }
  return { files: logs.length, leaks };
}
