import { randomBytes } from 'node:crypto';
import { chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { stackDataDir, stackUp } from '../../dev/stack';
import { dnsmasq } from '../../dev/stack/dnsmasq';
import { dovecot, dovecotPaths } from '../../dev/stack/dovecot';
import { oauthServer } from '../../dev/stack/oauth-server';
import { opendkim } from '../../dev/stack/opendkim';
import { postfix } from '../../dev/stack/postfix';
import { readPidFile, stopSession } from '../../dev/stack/processes';
import type { Service } from '../../dev/stack/service';
import { readState, type ServiceName } from '../../dev/stack/state';
import { temporal } from '../../dev/stack/temporal';

const SERVICES: Record<ServiceName, Service> = {
  temporal,
  dovecot,
  postfix,
  dnsmasq,
  opendkim,
  oauth: oauthServer,
};

/** Stops one daemon of the stack in `dir` (SIGTERM, then SIGKILL), as a crash or an operator would. */
export async function stopDaemon(handle: string, name: ServiceName): Promise<void> {
  const dir = stackDataDir(handle); // the daemons' command lines name the data dir, not the handle
  const state = await readState(dir);
  if (!state) throw new Error(`no stack in ${dir}`);
  const service = SERVICES[name];
  const pids = new Set([state.pids[name], service.pidFile && (await readPidFile(service.pidFile(dir)))]);
  for (const pid of pids) if (pid) await stopSession(pid, service.marker(dir));
}

/** Starts whatever daemon of the stack in `dir` is not running; keeps the ones that run. */
export async function startDaemons(dir: string, log: Logger): Promise<void> {
  await stackUp({ dir, log });
}

/**
 * Makes Dovecot refuse `address`'s password (IMAP, and SMTP AUTH, which Postfix checks through
 * Dovecot), as when the mailbox password was changed on the server; returns what undoes it.
 * Dovecot re-reads its passwd-file when the file changes, so no restart is involved.
 */
export async function refuseMailPassword(dir: string, address: string): Promise<() => Promise<void>> {
  const file = dovecotPaths(dir).users;
  const original = await readFile(file, 'utf8');
  const line = original.split('\n').find((l) => l.startsWith(`${address}:`));
  if (!line) throw new Error(`${address} is not in ${file}`);
  const changed = original.replace(line, `${address}:{PLAIN}${randomBytes(16).toString('hex')}::::::`);
  await replaceKeepingOwner(file, changed);
  return () => replaceKeepingOwner(file, original);
}

async function replaceKeepingOwner(file: string, text: string): Promise<void> {
  const { uid, gid, mode } = await stat(file);
  const next = `${file}.fault-${process.pid}`;
  await writeFile(next, text, { mode: mode & 0o777 });
  await chown(next, uid, gid);
  await rename(next, file);
}
