import { existsSync, statSync } from 'node:fs';
import { link, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { configFile, writeWorkerConfig } from './config';
import { dnsmasq, dnsServer } from './dnsmasq';
import { dovecot } from './dovecot';
import { milterAddress, opendkim } from './opendkim';
import { ensureMailPackages, isRoot } from './packages';
import { postfix } from './postfix';
import { isAlive, isOurs, portFree, readPidFile, retry, stopSession, tail, waitFor } from './processes';
import type { Service, ServiceContext } from './service';
import {
  loadOrCreateState,
  readState,
  saveState,
  stateFile,
  type StackAccount,
  type StackState,
} from './state';
import { temporal, temporalAddress } from './temporal';
import { stopWorker } from './worker';
import { ensureCert, tlsFiles } from './tls';

export type { StackAccount } from './state';
export { recordWorker, runningWorker } from './worker';

export interface StackOptions {
  /** Absolute data dir, e.g. <repo>/.stack/dev or <repo>/.stack/test. */
  dir: string;
  log: Logger;
}

export interface StackInfo {
  dir: string;
  /** <dir>/config.yaml, the generated worker config. */
  configFile: string;
  temporal: { address: string; uiUrl: string; pid: number };
  /** Postfix submission: STARTTLS + AUTH. */
  smtp: { host: string; port: number; pid: number };
  /** Dovecot IMAPS (implicit TLS). */
  imap: { host: string; port: number; pid: number };
  /** dnsmasq: the DKIM, DMARC and SPF records of the stack's domains. */
  dns: { server: string; pid: number };
  /** OpenDKIM, Postfix's signing milter. */
  dkim: { milter: string; pid: number };
  accounts: StackAccount[];
  caFile: string;
}

export interface ServiceStatus {
  name: string;
  pid?: number;
  alive: boolean;
  where?: string;
}

const SERVICES: Service[] = [temporal, dnsmasq, opendkim, dovecot, postfix];

/** The checkout root: the nearest directory above this file holding package.json. */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`no package.json above ${__dirname}`);
  }
}

/** The embedded stack that `npm start`, `npm run stack` and `npm run demo` use. */
export const embeddedStackDir = (): string => path.join(repoRoot(), '.stack', 'dev');

/**
 * Starts Temporal, dnsmasq, OpenDKIM, Dovecot and Postfix for `dir` (installing what is missing), or reuses those that
 * already run and answer; restarts only the others. Rewrites <dir>/config.yaml every time.
 */
export async function stackUp({ dir, log }: StackOptions): Promise<StackInfo & { reused: boolean }> {
  await ensureMailPackages(log);
  if (!isRoot()) throw new Error('the local stack must run as root: Postfix refuses to run otherwise');
  await mkdir(path.join(dir, 'logs'), { recursive: true });
  assertSearchable(dir);

  return withLock(dir, async () => {
    const state = await loadOrCreateState(dir);
    const ctx: ServiceContext = {
      dir,
      state,
      tls: await ensureCert(dir, log),
      toolsDir: path.join(repoRoot(), '.stack', 'tools'),
      log,
    };
    const running = await Promise.all(SERVICES.map((s) => answeringPid(s, ctx)));
    const toStart = SERVICES.filter((_, i) => running[i] === undefined);
    state.pids = Object.fromEntries(SERVICES.flatMap((s, i) => (running[i] ? [[s.name, running[i]]] : [])));

    for (const service of toStart) {
      for (const [label, port] of Object.entries(service.ports(state))) {
        if (!(await portFree(port))) {
          throw new Error(
            `port ${port} (${service.name} ${label}) on 127.0.0.1 is in use by a program this stack did not start: stop it, or change ports in ${stateFile(dir)}`,
          );
        }
      }
    }
    const results = await Promise.allSettled(
      toStart.map(async (service) => {
        const pid = await service.start(ctx);
        state.pids[service.name] = pid;
        saveState(dir, state); // at once, so that `down` can stop it whatever happens next
        await waitReady(service, ctx, pid);
        log.info(
          { servicePid: pid, logFile: service.logFile(dir) },
          `${service.name} started: ${service.where(state)}`,
        );
      }),
    );
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;

    await writeWorkerConfig(dir, state, ctx.tls.cert);
    const reused = toStart.length === 0;
    log.info({ dir, configFile: configFile(dir) }, reused ? 'stack already running' : 'stack up');
    return { ...stackInfo(dir, state), reused };
  });
}

/** Stops the daemons this stack started and waits until they are gone; keeps data, ports and passwords. */
export async function stackDown({ dir, log }: StackOptions): Promise<void> {
  if (!(await readState(dir))) return; // never started here
  await stopWorker(dir);
  await withLock(dir, async () => {
    const state = (await readState(dir)) as StackState;
    await Promise.all(
      SERVICES.map(async (service) => {
        const pids = new Set([
          state.pids[service.name],
          service.pidFile && (await readPidFile(service.pidFile(dir))),
        ]);
        for (const pid of pids) if (pid) await stopSession(pid, service.marker(dir));
        log.debug({ pids: [...pids].filter(Boolean) }, `${service.name} stopped`);
      }),
    );
    state.pids = {};
    saveState(dir, state);
    log.info({ dir }, 'stack down');
  });
}

/** Which daemons of `dir` are alive (process level, no probing); `info` only when all are. */
export async function stackStatus({
  dir,
}: StackOptions): Promise<{ running: boolean; info?: StackInfo; services: ServiceStatus[] }> {
  const state = await readState(dir);
  if (!state) return { running: false, services: SERVICES.map((s) => ({ name: s.name, alive: false })) };
  const services = await Promise.all(
    SERVICES.map(async (s) => {
      const pid = await ourPid(s, dir, state);
      return { name: s.name, pid, alive: pid !== undefined, where: s.where(state) };
    }),
  );
  const running = services.every((s) => s.alive);
  if (running) state.pids = Object.fromEntries(services.map((s) => [s.name, s.pid]));
  return { running, info: running ? stackInfo(dir, state) : undefined, services };
}

function stackInfo(dir: string, state: StackState): StackInfo {
  const { ports, pids } = state;
  return {
    dir,
    configFile: configFile(dir),
    temporal: {
      address: temporalAddress(ports),
      uiUrl: `http://127.0.0.1:${ports.temporalUi}`,
      pid: pids.temporal ?? 0,
    },
    smtp: { host: '127.0.0.1', port: ports.smtp, pid: pids.postfix ?? 0 },
    imap: { host: '127.0.0.1', port: ports.imaps, pid: pids.dovecot ?? 0 },
    dns: { server: dnsServer(ports), pid: pids.dnsmasq ?? 0 },
    dkim: { milter: milterAddress(ports), pid: pids.opendkim ?? 0 },
    accounts: state.accounts,
    caFile: tlsFiles(dir).cert,
  };
}

/** The running daemon we started: the recorded pid, or the one in the daemon's own pid file. */
async function ourPid(service: Service, dir: string, state: StackState): Promise<number | undefined> {
  const candidates = [state.pids[service.name], service.pidFile && (await readPidFile(service.pidFile(dir)))];
  return candidates.find((pid): pid is number => !!pid && isOurs(pid, service.marker(dir)));
}

/** Our daemon's pid if it answers; a daemon of ours that is alive but does not answer is stopped. */
async function answeringPid(service: Service, ctx: ServiceContext): Promise<number | undefined> {
  const pid = await ourPid(service, ctx.dir, ctx.state);
  if (!pid) return undefined;
  try {
    await retry(
      () => service.probe(ctx),
      3_000,
      () => !isAlive(pid),
    );
    return pid;
  } catch (err) {
    ctx.log.warn(
      { pid, err: (err as Error).message },
      `${service.name} is running but does not answer; restarting it`,
    );
    await stopSession(pid, service.marker(ctx.dir));
    return undefined;
  }
}

async function waitReady(service: Service, ctx: ServiceContext, pid: number): Promise<void> {
  try {
    await retry(
      () => service.probe(ctx),
      service.readyTimeoutMs,
      () => !isAlive(pid),
    );
  } catch (err) {
    const why = isAlive(pid)
      ? `not answering after ${service.readyTimeoutMs / 1000} s (${(err as Error).message})`
      : `exited (pid ${pid})`;
    const logFile = service.logFile(ctx.dir);
    throw new Error(`${service.name} ${why}; see ${logFile}:\n${await tail(logFile)}`, { cause: err });
  }
}

/** Dovecot delivers as nobody and Postfix runs as postfix: both must be able to reach into the data dir. */
function assertSearchable(dir: string): void {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) {
      throw new Error(
        `${p} is not searchable by other users, but the mail daemons (users nobody and postfix) must reach ${dir}: chmod o+x ${p}, or use a data dir elsewhere`,
      );
    }
    if (p === path.dirname(p)) return;
  }
}

/** Serialises up/down on one data dir across processes (e.g. parallel test files sharing .stack/test). */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, 'stack.lock');
  const mine = `${lock}.${process.pid}`;
  await writeFile(mine, String(process.pid));
  try {
    // link() is atomic and fails if the lock exists, so the holder's pid is always in it.
    const acquired = await waitFor(async () => {
      try {
        await link(mine, lock);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readPidFile(lock);
      if (!holder || !isAlive(holder)) await rm(lock, { force: true }); // its holder died
      return false;
    }, 600_000);
    if (!acquired)
      throw new Error(
        `${lock} is still held by pid ${(await readPidFile(lock)) ?? '?'}; delete it if that process is not a stack command`,
      );
  } finally {
    await rm(mine, { force: true });
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
