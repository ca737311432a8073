/**
 * What every benchmark shares: the stack of its own (.stack/bench), configs with a task queue of
 * their own, the mail an assignee sends and reads, repeats and medians, and the one line per figure
 * that `npm run bench` (dev/bench/run.ts) collects into its table.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ImapFlow } from 'imapflow';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { simpleParser } from 'mailparser';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load';
import type { Config } from '../../config/schema';
import { createLogger } from '../../worker/logger';
import { syncScheduleId, triggerSync } from '../../worker/sync-schedule';
import { cachedBundle } from '../../worker/workflow-bundle';
import { mailtoLinks } from '../mail-client';
import { repoRoot, stackUp, type StackAccount, type StackInfo } from '../stack';

/** `--quick`: small sizes and one repeat, so that all of `npm run bench -- --quick` fits in 3 minutes. */
export const quick = process.argv.includes('--quick');
export const repeats = quick ? 1 : 3;
export const log = createLogger({ level: 'warn', stream: 'stderr' });
export const ALICE = 'alice@example.test';
export const COMPLETION = 'completion@example.test';

export interface Bench {
  stack: StackInfo;
  /** The stack's worker config with a task queue of its own and `overrides` applied. */
  config(name: string, overrides?: (config: Config) => void): Config;
  account(address: string): StackAccount;
}

export async function benchStack(): Promise<Bench> {
  const stack = await stackUp({ dir: path.join(repoRoot(), '.stack', 'bench'), log });
  return {
    stack,
    config(name, overrides = () => {}) {
      const config = loadConfig(stack.configFile, {});
      config.temporal.taskQueue = `bench-${name}-${randomBytes(3).toString('hex')}`;
      config.log.level = 'warn';
      // Scheduled runs out of the way: each benchmark says what triggers a sync.
      config.remoteCompletion.syncInterval = 3_600_000;
      config.remoteCompletion.startupDelay = 3_600_000;
      config.imap.idle = false;
      overrides(config);
      return config;
    },
    account(address) {
      const found = stack.accounts.find((a) => a.address === address);
      if (!found) throw new Error(`no stack account ${address}`);
      return found;
    },
  };
}

export interface Figure {
  /** What is measured, as the README table names it. */
  figure: string;
  ours: number;
  /** The same work done the plainest way, measured in the same run; absent when there is none. */
  floor?: number;
  floorWhat?: string;
  unit: 'ms' | 's' | 'MB' | 'runs/h';
  /** Sizes, repeats, spread. */
  detail?: string;
}

const shown = (value: number, unit: Figure['unit']): string =>
  `${unit === 's' ? value.toFixed(2) : Math.round(value)} ${unit}`;

/** One line per figure: `BENCH {json}` for run.ts, then the same for people. */
export function report(figure: Figure): void {
  const ratio = figure.floor ? (figure.ours / figure.floor).toFixed(2) : '-';
  process.stdout.write(`BENCH ${JSON.stringify({ ...figure, ratio })}\n`);
  process.stdout.write(
    `${figure.figure}: ${shown(figure.ours, figure.unit)}` +
      (figure.floor !== undefined
        ? `  floor (${figure.floorWhat}) ${shown(figure.floor, figure.unit)}  ratio ${ratio}`
        : '') +
      (figure.detail ? `  [${figure.detail}]` : '') +
      '\n',
  );
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const spread = (values: number[], unit: Figure['unit']): string =>
  values.length > 1 ? `${shown(Math.min(...values), unit)}-${shown(Math.max(...values), unit)}` : '';

/** Runs `work` on every item with at most `limit` under way. */
export async function inFlight<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export function imapAs(config: Config, account: StackAccount): ImapFlow {
  const client = new ImapFlow({
    host: config.imap.host,
    port: config.imap.port,
    secure: config.imap.tls,
    tls: config.imap.ca ? { ca: readFileSync(config.imap.ca) } : undefined,
    auth: { user: account.address, pass: account.password },
    logger: false,
  });
  client.on('error', () => undefined);
  return client;
}

/** Empties a mailbox folder (INBOX by default). */
export async function clearMailbox(config: Config, account: StackAccount, folder = 'INBOX'): Promise<void> {
  const imap = imapAs(config, account);
  await imap.connect();
  try {
    const lock = await imap.getMailboxLock(folder);
    try {
      if (imap.mailbox && imap.mailbox.exists > 0) await imap.messageDelete('1:*');
    } finally {
      lock.release();
    }
  } finally {
    await imap.logout();
  }
}

/** Messages in the account's INBOX, on a connection with nothing selected. */
export async function inboxCount(imap: ImapFlow): Promise<number> {
  const status = await imap.status('INBOX', { messages: true });
  return (status && status.messages) || 0;
}

/** Waits until the account's INBOX holds at least `count` messages. */
export async function waitForInbox(
  config: Config,
  account: StackAccount,
  count: number,
  timeoutMs: number,
): Promise<void> {
  const imap = imapAs(config, account);
  await imap.connect();
  try {
    await waitUntil(
      `${count} messages in ${account.address}'s INBOX`,
      async () => (await inboxCount(imap)) >= count,
      timeoutMs,
      100,
    );
  } finally {
    await imap.logout();
  }
}

/** The Complete link of each task's request in the account's INBOX, by task id. */
export async function completeLinks(
  config: Config,
  account: StackAccount,
  taskIds: string[],
): Promise<Map<string, string>> {
  const imap = imapAs(config, account);
  await imap.connect();
  const sources: Buffer[] = [];
  try {
    const lock = await imap.getMailboxLock('INBOX');
    try {
      if (imap.mailbox && imap.mailbox.exists > 0)
        for await (const m of imap.fetch('1:*', { source: true })) if (m.source) sources.push(m.source);
    } finally {
      lock.release();
    }
  } finally {
    await imap.logout();
  }
  const wanted = new Set(taskIds);
  const links = new Map<string, string>();
  for (const source of sources) {
    const parsed = await simpleParser(source);
    const taskId = /\b(bench-[a-z0-9-]+)\b/.exec(parsed.text ?? '')?.[1];
    const link = mailtoLinks(parsed.html || '')[0];
    if (taskId && link && wanted.has(taskId)) links.set(taskId, link);
  }
  if (links.size < taskIds.length)
    throw new Error(`found ${links.size} of ${taskIds.length} requests in ${account.address}'s INBOX`);
  return links;
}

/** A pooled SMTP sender for one account (STARTTLS + AUTH), as a mail program sending many replies. */
export function smtpAs(
  config: Config,
  account: StackAccount,
): Transporter & {
  sendAs(message: SendMailOptions): Promise<void>;
} {
  const transport = nodemailer.createTransport({
    host: config.smtp.host,
    port: config.smtp.port,
    requireTLS: true,
    pool: true,
    maxConnections: 5,
    tls: config.smtp.ca ? { ca: readFileSync(config.smtp.ca) } : undefined,
    auth: { user: account.address, pass: account.password },
  });
  return Object.assign(transport, {
    async sendAs(message: SendMailOptions) {
      await transport.sendMail({ from: account.address, ...message });
    },
  });
}

/** Resident set size of a process, from /proc (Linux). */
export function rssMb(pid: number = process.pid): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Runs a benchmark's main and exits with its status, whatever handles are left open. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}

export interface WorkerProcess {
  pid: number;
  /** ms from the process's start to its worker running, as the process measured it. */
  readyMs: number;
  stop(): Promise<void>;
}

/** Starts dev/bench/worker-child.ts (see there for the modes) and waits until its worker runs. */
export async function spawnWorker(
  mode: 'product' | 'prebuilt' | 'floor',
  config: Config,
  bundle?: string,
): Promise<WorkerProcess> {
  // Bundled here if the code changed, so that no child measures webpack's memory or time.
  await cachedBundle(require.resolve(mode === 'floor' ? './floor/workflows' : '../workflows'), log);
  const dir = path.join(repoRoot(), '.stack', 'bench', 'tmp');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${config.temporal.taskQueue}.yaml`);
  writeFileSync(file, stringify(config), { mode: 0o600 });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'worker-child.ts'), mode, file, ...(bundle ? [bundle] : [])],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const readyMs = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /READY (\d+)/.exec(out);
      if (ready) resolve(Number(ready[1]));
    });
    child.once('exit', (code) => reject(new Error(`worker-child ${mode} exited with ${code} before it ran`)));
  });
  return {
    pid: child.pid!,
    readyMs,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Triggers one sync run (nothing under way), waits for it and returns how long it ran, start to
 * close, as Temporal recorded it.
 */
export async function timedSyncRun(client: Client, taskQueue: string): Promise<number> {
  const schedule = client.schedule.getHandle(syncScheduleId(taskQueue));
  const quiet = await waitUntil(
    'no sync run under way',
    async () => {
      const { info, raw } = await schedule.describe();
      return info.runningActions.length === 0 && Number(raw.info?.bufferSize ?? 0) === 0 && info;
    },
    120_000,
  );
  const earlier = new Set(quiet.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
  await triggerSync(client, taskQueue);
  const started = await waitUntil(
    'the triggered sync run',
    async () =>
      (await schedule.describe()).info.recentActions.find(
        (a) => !earlier.has(a.action.workflow.firstExecutionRunId),
      ),
    60_000,
    20,
  );
  const { workflowId, firstExecutionRunId } = started.action.workflow;
  const handle = client.workflow.getHandle(workflowId, firstExecutionRunId);
  await handle.result();
  const { startTime, closeTime } = await handle.describe();
  return closeTime!.getTime() - startTime.getTime();
}
