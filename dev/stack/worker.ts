import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, isOurs, readPidFile, waitFor } from './processes';

// The worker `npm start` runs beside the stack, so `stack down` can stop it too.
const pidFile = (dir: string) => path.join(dir, 'worker.pid');
/** In the worker's command line (`node bin/remote-completion.js start`): a reused pid is never ours. */
const MARKER = 'remote-completion.js';

/** Records this process as the stack's worker; returns the function that forgets it. */
export function recordWorker(dir: string): () => void {
  writeFileSync(pidFile(dir), `${process.pid}\n`);
  return () => rmSync(pidFile(dir), { force: true });
}

/** The pid of the stack's live worker, if any. */
export async function runningWorker(dir: string): Promise<number | undefined> {
  const pid = await readPidFile(pidFile(dir));
  if (pid && isOurs(pid, MARKER)) return pid;
  rmSync(pidFile(dir), { force: true });
  return undefined;
}

/** SIGTERM (the worker drains), SIGKILL when it has not stopped after `graceMs`. */
export async function stopWorker(dir: string, graceMs = 20_000): Promise<void> {
  const pid = await runningWorker(dir);
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitFor(() => !isAlive(pid), graceMs))) process.kill(pid, 'SIGKILL');
}
