import { existsSync } from 'node:fs';
import { link, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { configFile, writeWorkerConfig } from './config';
import { ensureStackDataDir, stackDataDir } from './data-dir';
import { dnsmasq, dnsServer } from './dnsmasq';
import { dovecot } from './dovecot';
import { oauthIssuer, oauthServer } from './oauth-server';
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

export { ensureStackDataDir, removeStackDataDir, stackDataDir } from './data-dir';

export type { StackAccount } from './state';
export { recordWorker, runningWorker } from './worker';

export interface StackOptions {
  /**
   * The stack's handle, e.g. <repo>/.stack/dev or <repo>/.stack/test: a symlink to its data dir
   * under /var/lib/remote-completion (data-dir.ts), which `up` creates.
   */
  dir: string;
  log: Logger;
  /**
   * Also an OAuth2 authorization server, and Dovecot taking its tokens (XOAUTH2, OAUTHBEARER) for
   * IMAP and, through Postfix, SMTP AUTH; passwords keep working. Unset: the mode the stack has.
   */
  oauth2?: boolean;
}

export interface StackInfo {
  dir: string;
  /** Where the daemons' files are: the target of `dir`. */
  dataDir: string;
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
  /** The stack's local CA certificate: clients trust it once to accept the servers' certificate. */
  caFile: string;
  /** The OAuth2 authorization server, in a stack started with `oauth2`. */
  oauth?: { issuer: string; pid: number };
}

export interface ServiceStatus {
  name: string;
  pid?: number;
  alive: boolean;
  where?: string;
}

const ALL_SERVICES: Service[] = [temporal, dnsmasq, opendkim, oauthServer, dovecot, postfix];
/** The daemons of a stack in its mode. */
const servicesOf = (state: StackState) =>
  ALL_SERVICES.filter((service) => service !== oauthServer || state.oauth2);
/** The daemons that serve the stack's certificate: restarted when it is renewed. */
const TLS_SERVICES: Service[] = [dovecot, postfix];

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
export async function stackUp({
  dir: handle,
  log,
  oauth2,
}: StackOptions): Promise<StackInfo & { reused: boolean }> {
  await ensureMailPackages(log);
  if (!isRoot()) throw new Error('the local stack must run as root: Postfix refuses to run otherwise');
  const dir = await ensureStackDataDir(handle);
  await mkdir(path.join(dir, 'logs'), { recursive: true });

  return withLock(dir, async () => {
    const state = await loadOrCreateState(dir);
    if (oauth2 !== undefined) state.oauth2 = oauth2;
    const services = servicesOf(state);
    for (const service of ALL_SERVICES.filter((s) => !services.includes(s)))
      await stopOurs(service, dir, state);
    const tls = await ensureCert(dir, log);
    const ctx: ServiceContext = { dir, state, tls, toolsDir: path.join(repoRoot(), '.stack', 'tools'), log };
    if (tls.renewed) await Promise.all(TLS_SERVICES.map((s) => stopOurs(s, dir, state)));
    const running = await Promise.all(services.map((s) => answeringPid(s, ctx)));
    const toStart = services.filter((_, i) => running[i] === undefined);
    state.pids = Object.fromEntries(services.flatMap((s, i) => (running[i] ? [[s.name, running[i]]] : [])));

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

    await writeWorkerConfig(dir, state, tls.ca);
    const reused = toStart.length === 0;
    const info = stackInfo(handle, state);
    log.info(
      { dir: handle, dataDir: dir, configFile: info.configFile, caFile: info.caFile },
      `${reused ? 'stack already running' : 'stack up'}; clients trust its certificate through the CA ${info.caFile}`,
    );
    return { ...info, reused };
  });
}

/** Stops the daemons this stack started and waits until they are gone; keeps data, ports and passwords. */
export async function stackDown({ dir: handle, log }: StackOptions): Promise<void> {
  const dir = stackDataDir(handle);
  if (!(await readState(dir))) return; // never started here
  await stopWorker(dir);
  await withLock(dir, async () => {
    const state = (await readState(dir)) as StackState;
    await Promise.all(
      ALL_SERVICES.map(async (service) => {
        const pids = await stopOurs(service, dir, state);
        log.debug({ pids }, `${service.name} stopped`);
      }),
    );
    state.pids = {};
    saveState(dir, state);
    log.info({ dir: handle, dataDir: dir }, 'stack down');
  });
}

/** Stops the service's daemon if it is ours (recorded pid or its own pid file); returns the pids tried. */
async function stopOurs(service: Service, dir: string, state: StackState): Promise<number[]> {
  const pids = new Set([
    state.pids[service.name],
    service.pidFile && (await readPidFile(service.pidFile(dir))),
  ]);
  for (const pid of pids) if (pid) await stopSession(pid, service.marker(dir));
  return [...pids].filter((pid): pid is number => !!pid);
}

/** Which daemons of `dir` are alive (process level, no probing); `info` only when all are. */
export async function stackStatus({
  dir: handle,
}: StackOptions): Promise<{ running: boolean; info?: StackInfo; services: ServiceStatus[] }> {
  const dir = stackDataDir(handle);
  const state = await readState(dir);
  if (!state)
    return {
      running: false,
      services: servicesOf({ oauth2: false } as StackState).map((s) => ({ name: s.name, alive: false })),
    };
  const services = await Promise.all(
    servicesOf(state).map(async (s) => {
      const pid = await ourPid(s, dir, state);
      return { name: s.name, pid, alive: pid !== undefined, where: s.where(state) };
    }),
  );
  const running = services.every((s) => s.alive);
  if (running) state.pids = Object.fromEntries(services.map((s) => [s.name, s.pid]));
  return { running, info: running ? stackInfo(handle, state) : undefined, services };
}

function stackInfo(handle: string, state: StackState): StackInfo {
  const { ports, pids } = state;
  const dataDir = stackDataDir(handle);
  return {
    dir: handle,
    dataDir,
    configFile: configFile(handle),
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
    // The real path: a client running as another user can read it, not the handle under a 0700 home.
    caFile: tlsFiles(dataDir).ca,
    oauth: state.oauth2 ? { issuer: oauthIssuer(ports), pid: pids.oauth ?? 0 } : undefined,
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
