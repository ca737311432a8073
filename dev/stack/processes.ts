import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until it returns a value other than undefined/false; undefined at the deadline. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) return undefined;
    await delay(50);
  }
}

/** Retries `attempt` until it succeeds; fails with the last error at the deadline or as soon as `hopeless()` says so. */
export async function retry<T>(
  attempt: () => Promise<T>,
  timeoutMs: number,
  hopeless: () => boolean,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() >= deadline || hopeless()) throw err;
    }
    await delay(100);
  }
}

/** Runs a command to completion; throws with its output on a non-zero exit. */
export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${(stderr || stdout || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** Runs a command with stdout/stderr appended to `logFile`; resolves its exit code (daemons fork and return). */
export async function runLogged(cmd: string, args: string[], logFile: string): Promise<number> {
  const fd = openSync(logFile, 'a', 0o644);
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    const [code] = (await once(child, 'exit')) as [number | null];
    return code ?? -1;
  } finally {
    closeSync(fd);
  }
}

/** Starts a long-running process in its own session (so it outlives us), output appended to `logFile`. */
export async function spawnDetached(cmd: string, args: string[], logFile: string): Promise<number> {
  const fd = openSync(logFile, 'a', 0o644);
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) {
      const [err] = (await once(child, 'error')) as [Error];
      throw new Error(`cannot start ${cmd}: ${err.message}`);
    }
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

interface ProcStat {
  state: string;
  sid: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses; the fields after the last ')' are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', sid: Number(fields[3]) };
  } catch {
    return undefined;
  }
}

// Zombies count as dead: here pid 1 is no real init and reaps orphans late.
const running = (stat: ProcStat | undefined): stat is ProcStat =>
  stat !== undefined && !'ZX'.includes(stat.state);

export const isAlive = (pid: number) => running(procStat(pid));

/** Alive and started by this stack: its command line mentions `marker` (a path inside the stack dir), so a reused pid is never ours. */
export function isOurs(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

function sessionMembers(sid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const stat = procStat(pid);
      return running(stat) && stat.sid === sid;
    });
}

/**
 * Stops a daemon of ours and every process of its session (each daemon here leads its own
 * session): SIGTERM to the leader, SIGKILL to whatever is left after the grace period, then waits
 * until all are gone. Does nothing unless `pid` is alive and ours.
 */
export async function stopSession(pid: number, marker: string, graceMs = 10_000): Promise<void> {
  if (!isOurs(pid, marker)) return;
  const signal = (pids: number[], sig: NodeJS.Signals) => {
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // already gone
      }
    }
  };
  const gone = () => sessionMembers(pid).length === 0;
  signal([pid], 'SIGTERM');
  if (await waitFor(gone, graceMs)) return;
  signal(sessionMembers(pid), 'SIGKILL');
  if (!(await waitFor(gone, 5_000)))
    throw new Error(`processes of session ${pid} survived SIGKILL: ${sessionMembers(pid).join(', ')}`);
}

export async function readPidFile(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return pid > 0 ? pid : undefined;
}

/** Resolves false when something already listens on 127.0.0.1:port. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? resolve(false) : reject(err),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Distinct ports the kernel considers free on loopback right now. */
export async function pickFreePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Connects to 127.0.0.1:port (over TLS when `ca` is given), returns the server's first line, then sends `quit`. */
export function readGreeting(port: number, quit: string, ca?: Buffer, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = ca
      ? tls.connect({ host: '127.0.0.1', port, ca })
      : net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no greeting on port ${port} within ${timeoutMs} ms`)),
    );
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      resolve(text.slice(0, end));
      socket.end(quit);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`port ${port} closed the connection without a greeting`)));
  });
}

/** The last lines of a log file, for error messages. */
export async function tail(file: string, lines = 15): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Writes via a temporary file and rename, so readers never see half a file; `mode` applies to new content. */
export async function writeFileAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, file);
}
