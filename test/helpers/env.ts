import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import type { SendMailOptions } from 'nodemailer';
import { mailtoLinks, replyFromLink, sendAs as sendMailAs } from '../../dev/mail-client';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load';
import { syncScheduleId } from '../../worker/sync-schedule';
import type { Config } from '../../config/schema';
import { connectTemporal } from '../../client/connect';
import { RemoteCompletionClient } from '../../client/task-client';
import { createLogger } from '../../worker/logger';
import { createWorker, type CreateWorkerOptions, type WorkerHandle } from '../../worker/run-worker';
import type { StackAccount } from '../../dev/stack';

/** Set by test/run-all.ts, which starts the test stack and bundles the workflows once. */
const testStackDir = process.env.REMOTE_COMPLETION_TEST_STACK;
if (!testStackDir)
  throw new Error('integration tests run through "npm test" (test/run-all.ts), which starts the test stack');

export const stackDir: string = testStackDir;
export const logDir = path.join(stackDir, 'test-logs');
/** For files that hold secrets (generated configs): not a log, so not part of the secrets check. */
export const scratchDir = path.join(stackDir, 'tmp');
mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
const baseConfigFile = path.join(stackDir, 'config.yaml');
const accounts: StackAccount[] = (
  JSON.parse(readFileSync(path.join(stackDir, 'stack.json'), 'utf8')) as { accounts: StackAccount[] }
).accounts;

/** The completion mailbox every test config reads. */
export const COMPLETION = 'completion@example.test';

export function account(address: string): StackAccount {
  const found = accounts.find((a) => a.address === address);
  if (!found) throw new Error(`no test account ${address}`);
  return found;
}

export const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

/** The test stack's config with a task queue of its own, so test files never share workers. */
export function testConfig(overrides: (config: Config) => void = () => {}): Config {
  const config = loadConfig(baseConfigFile, {});
  config.temporal.taskQueue = unique('test');
  config.log.level = 'debug';
  overrides(config);
  return config;
}

/** Scheduled syncs an hour away, IDLE off: a sync runs when the test triggers one. */
export function triggeredSyncsOnly(config: Config): void {
  config.remoteCompletion.syncInterval = 3_600_000;
  config.remoteCompletion.startupDelay = 3_600_000;
  config.imap.idle = false;
}

/** Writes a config for a worker or CLI process of its own; returns the file (0600, not a log). */
export function writeConfigFile(config: Config): string {
  const file = path.join(scratchDir, `${unique('config')}.yaml`);
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}

/** Terminates the sync runs under way for this config's schedule, as an operator would. */
export async function endRunningSyncs(client: Client, config: Config, reason: string): Promise<void> {
  const schedule = await client.schedule.getHandle(syncScheduleId(config.temporal.taskQueue)).describe();
  for (const { workflow } of schedule.info.runningActions) {
    await client.workflow.getHandle(workflow.workflowId, workflow.firstExecutionRunId).terminate(reason);
  }
}

export function testLogger(name: string): Logger {
  return createLogger({ level: 'trace', file: path.join(logDir, `${name}.log`) });
}

const bundlePath = process.env.REMOTE_COMPLETION_TEST_BUNDLE;
export const workflowBundle = bundlePath ? { codePath: bundlePath } : undefined;

export async function startWorker(
  config: Config,
  log: Logger,
  options: CreateWorkerOptions = {},
): Promise<WorkerHandle> {
  const handle = await createWorker(config, log, { workflowBundle, ...options });
  void handle.run();
  return handle;
}

/** Empties a test account's INBOX, so a test file starts from a known mailbox. */
export async function clearInbox(config: Config, address: string): Promise<void> {
  const imap = imapFor(config, address);
  await imap.connect();
  try {
    const lock = await imap.getMailboxLock('INBOX');
    try {
      if (imap.mailbox && imap.mailbox.exists > 0) await imap.messageDelete('1:*');
    } finally {
      lock.release();
    }
  } finally {
    await imap.logout();
  }
}

/** Messages in a test account's INBOX, counted on a fresh connection. */
export async function inboxCount(config: Config, address: string): Promise<number> {
  const imap = imapFor(config, address);
  await imap.connect();
  try {
    const status = await imap.status('INBOX', { messages: true });
    return (status && status.messages) || 0;
  } finally {
    await imap.logout();
  }
}

export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Log lines (parsed) of a test logger's file that have all the given fields. */
export function logLines(name: string, fields: Record<string, unknown>): Record<string, unknown>[] {
  const file = path.join(logDir, `${name}.log`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => Object.entries(fields).every(([key, value]) => line[key] === value));
}

const openConnections: { close(): Promise<void> }[] = [];
after(() => Promise.all(openConnections.map((c) => c.close())));

/** A task client for the test file; its connection closes when the file's tests are done. */
export async function taskClient(config: Config): Promise<RemoteCompletionClient> {
  const { client, connection } = await connectTemporal(config.temporal);
  openConnections.push(connection);
  return new RemoteCompletionClient(client, config.temporal.taskQueue, config.whitelist);
}

export function imapFor(config: Config, address: string): ImapFlow {
  return new ImapFlow({
    host: config.imap.host,
    port: config.imap.port,
    secure: config.imap.tls,
    tls: config.imap.ca ? { ca: readFileSync(config.imap.ca) } : undefined,
    auth: { user: address, pass: account(address).password },
    logger: false,
  });
}

/** Sends a message over SMTP (STARTTLS + AUTH) as the given test account. */
export function sendAs(config: Config, address: string, message: SendMailOptions): Promise<void> {
  return sendMailAs(config, account(address), message);
}

export interface ReceivedMail {
  uid: number;
  parsed: ParsedMail;
}

/** Polls a mailbox until `count` messages match, then returns them parsed (oldest first). */
export async function waitForMail(
  config: Config,
  address: string,
  match: (mail: ParsedMail) => boolean,
  { count = 1, timeoutMs = 15_000 } = {},
): Promise<ReceivedMail[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await readMailbox(config, address)).filter((m) => match(m.parsed));
    if (found.length >= count) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${count} matching message(s) in ${address}'s INBOX within ${timeoutMs} ms, found ${found.length}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function readMailbox(config: Config, address: string): Promise<ReceivedMail[]> {
  const imap = imapFor(config, address);
  await imap.connect();
  try {
    const lock = await imap.getMailboxLock('INBOX');
    const raw: FetchMessageObject[] = [];
    try {
      if ((imap.mailbox && imap.mailbox.exists) || 0) {
        for await (const message of imap.fetch('1:*', { uid: true, source: true })) raw.push(message);
      }
    } finally {
      lock.release();
    }
    return Promise.all(raw.map(async (m) => ({ uid: m.uid, parsed: await simpleParser(m.source!) })));
  } finally {
    await imap.logout();
  }
}

/**
 * Starts a task for alice and answers it as she would: opens her request, takes the Complete
 * button and sends the reply with `comment` on top. Returns the task id.
 */
export async function startAndComplete(
  config: Config,
  tasks: RemoteCompletionClient,
  title: string,
  comment: string,
  headers: Pick<SendMailOptions, 'messageId'> = {},
): Promise<string> {
  const taskId = unique('reply');
  await tasks.start({ taskId, title, assignees: 'alice@example.test' });
  const [request] = await waitForMail(config, 'alice@example.test', (m) => (m.text ?? '').includes(taskId));
  await sendAs(config, 'alice@example.test', {
    ...replyFromLink(mailtoLinks(request!.parsed.html || '')[0]!, `${comment}\n`),
    ...headers,
  });
  return taskId;
}
