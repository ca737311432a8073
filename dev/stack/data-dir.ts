import { createHash } from 'node:crypto';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { chmod, mkdir, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { isRoot } from './packages';
import { run } from './processes';

/**
 * Where the daemons' files live. Dovecot (nobody, dovecot) and Postfix (postfix) must reach them,
 * and a checkout may sit under a 0700 directory (/root, mktemp -d), so the files live outside it:
 * 0711 directories, traversable but not listable by other users; every file keeps its own mode.
 */
export const STACK_DATA_ROOT = '/var/lib/remote-completion';

/** One data dir per stack handle (e.g. <checkout>/.stack/dev), named after its absolute path. */
export const dataDirFor = (handle: string): string => {
  const absolute = path.resolve(handle);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 16);
  return path.join(STACK_DATA_ROOT, `${path.basename(absolute)}-${hash}`);
};

/**
 * The directory that holds the stack's files for `handle`, without creating anything: the target
 * of the handle's symlink, the handle itself when it is a plain directory (stacks created before
 * the data moved out of the checkout), or the handle path when nothing exists yet.
 */
export function stackDataDir(handle: string): string {
  try {
    return realpathSync(handle);
  } catch {
    return path.resolve(handle);
  }
}

/**
 * Makes `handle` a symlink to a data dir the daemons can reach, and returns that dir. A plain
 * directory at `handle` that they can reach already is used as it is; one they cannot reach
 * (never started: `up` used to stop on it) is moved into the data dir.
 */
export async function ensureStackDataDir(handle: string): Promise<string> {
  if (!isRoot()) throw new Error('the local stack must run as root: Postfix refuses to run otherwise');
  const absolute = path.resolve(handle);
  const existing = lstatOrUndefined(absolute);
  if (existing?.isDirectory() && reachableByOthers(absolute)) return absolute;
  if (existing?.isSymbolicLink()) {
    const target = stackDataDir(absolute);
    if (target !== absolute && reachableByOthers(target)) return target;
  }

  const dataDir = dataDirFor(absolute);
  await mkdir(STACK_DATA_ROOT, { recursive: true });
  await chmod(STACK_DATA_ROOT, 0o711);
  if (existing?.isDirectory()) {
    await moveDirectory(absolute, dataDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // else another process moved it a moment ago
    });
  } else {
    if (existing) await rm(absolute); // a dangling or misdirected symlink
    await mkdir(dataDir, { recursive: true });
  }
  await chmod(dataDir, 0o711);
  await mkdir(path.dirname(absolute), { recursive: true });
  try {
    await symlink(dataDir, absolute);
  } catch (err) {
    // Another process sharing the stack made the same link first.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || stackDataDir(absolute) !== dataDir) throw err;
  }
  return dataDir;
}

/** Deletes the stack's files and its handle (for throw-away stacks; `down` keeps everything). */
export async function removeStackDataDir(handle: string): Promise<void> {
  const dataDir = stackDataDir(handle);
  await rm(path.resolve(handle), { recursive: true, force: true });
  if (dataDir !== path.resolve(handle)) await rm(dataDir, { recursive: true, force: true });
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/** Every directory from / down to `dir` grants others search (x) permission. */
function reachableByOthers(dir: string): boolean {
  for (let p = dir; ; p = path.dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) return false;
    if (p === path.dirname(p)) return true;
  }
}

async function moveDirectory(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    // Another file system: copy with owners and modes (the mail belongs to nobody, the queue to postfix).
    await run('cp', ['-a', from, to]);
    await rm(from, { recursive: true, force: true });
  }
}
