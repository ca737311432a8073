import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { oauthLedger } from '../../dev/stack/oauth-server';

/** The distinct values in the authorization server's ledger (none if it issued none). */
function readIssued(file: string): string[] {
  try {
    return [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * What base64 of a longer string shows of `text` inside it: base64 works in 3-byte groups, so
 * depending on the offset one of these three encodings of most of `text` appears.
 */
function base64Inside(text: string): string[] {
  return [0, 1, 2].map((skip) => {
    const whole = Math.floor((text.length - skip) / 3) * 3;
    return Buffer.from(text.slice(skip, skip + whole)).toString('base64');
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

/**
 * Looks through every log a test run wrote (the stack's and the tests') for the stack's account
 * passwords, their AUTH PLAIN encoding, the signature secret, and, in a stack with OAuth2, every
 * client secret, access token and refresh token its authorization server issued (its ledger), their
 * XOAUTH2 and OAUTHBEARER encodings' telltale base64 and the server's own secrets. Returns what
 * leaked where.
 */
export function findSecretsInLogs(stackDir: string): { files: number; leaks: string[] } {
  const state = JSON.parse(readFileSync(path.join(stackDir, 'stack.json'), 'utf8')) as {
    accounts: { address: string; password: string }[];
    oauth2?: boolean;
    oauthSecrets?: { dovecot: string; admin: string };
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
  if (state.oauth2 && state.oauthSecrets) {
    secrets.set(state.oauthSecrets.dovecot, "the OAuth2 server's introspection secret");
    secrets.set(state.oauthSecrets.admin, "the OAuth2 server's admin token");
    for (const issued of readIssued(oauthLedger(stackDir))) {
      secrets.set(issued, 'an OAuth2 client secret, access token or refresh token');
      // SASL XOAUTH2/OAUTHBEARER carry the token base64-encoded, at any offset.
      for (const encoded of base64Inside(issued))
        secrets.set(encoded, 'a base64-encoded OAuth2 token (XOAUTH2/OAUTHBEARER)');
    }
  }
  const logs = ['logs', 'test-logs'].flatMap((sub) => filesUnder(path.join(stackDir, sub)));
  const leaks: string[] = [];
  for (const file of logs) {
    const text = readFileSync(file, 'utf8');
    for (const [secret, what] of secrets)
      if (text.includes(secret)) leaks.push(`${path.relative(stackDir, file)}: ${what}`);
  }
  return { files: logs.length, leaks };
}
