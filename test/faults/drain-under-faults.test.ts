/**
 * The fault suite: tasks wait for replies while a seeded schedule of faults hits the real worker
 * process and the real stack (.stack/faults): SIGKILLs, a Dovecot restart mid-sync, a refused
 * IMAP password for a while, Postfix down while tasks start, a Temporal restart while replies
 * arrive, SIGTERM mid-sync. Every task must end decided exactly once, by its reply, with nothing
 * left in INBOX and no worker restarted by hand. FAULT_SEED=<n> replays a schedule.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectTemporal } from '../../client/connect';
import { mailtoLinks, replyFromLink } from '../../dev/mail-client';
import { EXIT_FORCED } from '../../worker/exit-guard';
import { SHUTDOWN_GRACE_MS } from '../../worker/run-worker';
import { syncScheduleId } from '../../worker/sync-schedule';
import type { Action, TaskState } from '../../workflows/definitions';
import {
  clearInbox,
  COMPLETION,
  inboxCount,
  logDir,
  sendAs,
  stackDir,
  taskClient,
  testConfig,
  testLogger,
  unique,
  writeConfigFile,
} from '../helpers/env';
import { SeededRandom, seedFrom } from '../support/seeded-random';
import { refuseMailPassword, startDaemons, stopDaemon } from '../support/stack-faults';
import { SupervisedWorker, type WorkerExit } from '../support/supervised-worker';
import { faultProfile } from './fault-profile';
import { formatReport, type FaultReport } from './fault-report';
import { MailboxReader } from './mailbox-reader';

const ASSIGNEES = ['alice@example.test', 'carol@example.test', 'bob@other.test'];
/** Longer than any timeout that ends a stuck sync by itself (a run's 5 minutes): then a person would step in. */
const STALL_MS = 6 * 60_000;

type FaultKind = 'kill' | 'sigterm' | 'dovecot' | 'password' | 'temporal';
const FAULT_NAMES: Record<FaultKind | 'postfix', string> = {
  kill: 'worker SIGKILL',
  sigterm: 'worker SIGTERM mid-sync',
  dovecot: 'Dovecot restart mid-sync',
  password: 'IMAP password refused for a while',
  temporal: 'Temporal restart while replies arrive',
  postfix: 'Postfix down while tasks start',
};

interface PlannedTask {
  taskId: string;
  assignee: string;
  action: Action;
  comment: string;
  /** The request's button for `action`, once the request arrived. */
  link?: string;
}

const profile = faultProfile();
const seed = seedFrom('FAULT_SEED');

test(`${profile.tasks} replies drained through faults (${profile.name} profile, seed ${seed})`, async (t) => {
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
  const note = (text: string) => t.diagnostic(`[${elapsed()}] ${text}`);
  const replay = profile.name === 'full' ? 'npm run test:faults' : 'node bin/run-tests.js test/faults';
  note(`fault seed ${seed}; replay with FAULT_SEED=${seed} ${replay}`);
  const random = new SeededRandom(seed);

  const config = testConfig((c) => {
    c.imap.idle = true;
    c.remoteCompletion.syncInterval = 10_000;
    c.remoteCompletion.startupDelay = 1_000;
  });
  const log = testLogger('faults');
  await Promise.all([COMPLETION, ...ASSIGNEES].map((a) => clearInbox(config, a)));
  const worker = new SupervisedWorker(writeConfigFile(config), path.join(logDir, 'faults-worker.log'));
  const tasks = await taskClient(config);
  const faults = new Map<string, number>();
  const injected = (kind: FaultKind | 'postfix') =>
    faults.set(FAULT_NAMES[kind], (faults.get(FAULT_NAMES[kind]) ?? 0) + 1);
  let restorePassword: (() => Promise<void>) | undefined;

  const plan: PlannedTask[] = Array.from({ length: profile.tasks }, (_, i) => ({
    taskId: unique('fault'),
    assignee: ASSIGNEES[i % ASSIGNEES.length]!,
    action: random.next() < 0.5 ? 'complete' : 'fail',
    comment: `fault suite reply ${i}`,
  }));
  const startTasks = (some: PlannedTask[]) =>
    forEachLimited(some, 10, (p) =>
      tasks.start({ taskId: p.taskId, title: `Fault suite task ${p.taskId}`, assignees: p.assignee }),
    );

  try {
    await worker.start();

    // Postfix down while tasks start: each task says why its request has not gone out, and the
    // requests go out once Postfix is back.
    const early = plan.slice(0, profile.postfixDownTasks);
    if (early.length > 0) {
      await stopDaemon(stackDir, 'postfix');
      injected('postfix');
      await startTasks(early);
      const states = await poll(`${early.length} tasks to show their delivery problem`, 180_000, async () => {
        const all = await Promise.all(early.map((p) => tasks.getState(p.taskId)));
        return (
          all.every((s) => s.assignees[0]!.delivery === 'pending' && s.assignees[0]!.deliveryError) && all
        );
      });
      note(`Postfix down, ${early.length} tasks: e.g. "${states[0]!.assignees[0]!.deliveryError}"`);
      await startDaemons(stackDir, log);
    }
    await startTasks(plan.slice(early.length));
    await collectRequests(plan, config);
    note(`${plan.length} tasks started, every request arrived`);

    // The drain: replies in seeded bursts, a fault between bursts.
    const schedule = random.shuffle<FaultKind>([
      ...Array<FaultKind>(profile.kills).fill('kill'),
      ...(profile.sigterm ? ['sigterm' as const] : []),
      ...(profile.dovecotRestart ? ['dovecot' as const] : []),
      ...(profile.wrongPassword ? ['password' as const] : []),
      ...(profile.temporalRestart ? ['temporal' as const] : []),
    ]);
    const queue = random.shuffle(plan);
    const nextBurst = (slotsLeft: number) => {
      const mean = queue.length / Math.max(1, slotsLeft);
      return queue.splice(0, Math.min(queue.length, random.int(Math.ceil(mean / 2), Math.ceil(mean * 1.5))));
    };
    const reply = (burst: PlannedTask[]) =>
      forEachLimited(burst, 5, (p) =>
        retryUntilSent(() => sendAs(config, p.assignee, replyFromLink(p.link!, `${p.comment}\n`))),
      );
    const sigtermExits: WorkerExit[] = [];

    for (const [i, kind] of schedule.entries()) {
      const slotsLeft = schedule.length - i + 1;
      if (kind === 'sigterm' || kind === 'dovecot') {
        // Mid-sync: the first message the worker reads after this burst lands.
        const reading = worker.nextLine((l) => l.includes('"msg":"decision read"'), 60_000);
        await reply(nextBurst(slotsLeft));
        const midSync = await reading.then(
          () => true,
          () => false,
        );
        if (kind === 'sigterm') sigtermExits.push(await worker.signal('SIGTERM'));
        else {
          await stopDaemon(stackDir, 'dovecot');
          await startDaemons(stackDir, log);
        }
        note(`${FAULT_NAMES[kind]}${midSync ? '' : ' (no sync was reading: injected anyway)'}`);
      } else if (kind === 'temporal') {
        await stopDaemon(stackDir, 'temporal');
        await reply(nextBurst(slotsLeft)); // replies arrive while Temporal is down
        await sleep(random.int(5_000, 10_000));
        await startDaemons(stackDir, log);
        note(FAULT_NAMES[kind]);
      } else if (kind === 'password') {
        restorePassword = await refuseMailPassword(stackDir, COMPLETION);
        await reply(nextBurst(slotsLeft));
        await sleep(random.int(10_000, 20_000));
        await restorePassword();
        restorePassword = undefined;
        note(FAULT_NAMES[kind]);
      } else {
        await reply(nextBurst(slotsLeft));
        await sleep(random.int(500, 4_000));
        await worker.signal('SIGKILL');
      }
      injected(kind);
    }
    await reply(queue.splice(0));
    note(`faults done; every reply sent`);

    // Wait for every task; step in by hand only when nothing moved for longer than any timeout.
    let handRestarts = 0;
    const decided = new Map<string, TaskState>();
    let progress = '';
    let lastProgress = Date.now();
    const deadline = Date.now() + (profile.name === 'full' ? 30 : 10) * 60_000;
    while (decided.size < plan.length && Date.now() < deadline) {
      await forEachLimited(
        plan.filter((p) => !decided.has(p.taskId)),
        20,
        async (p) => {
          const state = await tasks.getState(p.taskId).catch(() => undefined);
          if (state?.result) decided.set(p.taskId, state);
        },
      );
      const now = `${decided.size}/${await inboxCount(config, COMPLETION).catch(() => -1)}`;
      if (now !== progress) [progress, lastProgress] = [now, Date.now()];
      if (Date.now() - lastProgress > STALL_MS) {
        handRestarts++;
        note(`no progress for ${STALL_MS / 1000} s (decided/INBOX ${now}): restarting the worker by hand`);
        await worker.signal('SIGKILL');
        lastProgress = Date.now();
      }
      if (decided.size < plan.length) await sleep(2_000);
    }
    note(`${decided.size} of ${plan.length} tasks decided`);
    const inboxLeft = await poll('INBOX to empty', 120_000, async () => {
      const n = await inboxCount(config, COMPLETION);
      return n === 0 ? { n } : false;
    }).then(
      ({ n }) => n,
      () => inboxCount(config, COMPLETION),
    );

    const finalStates = new Map<string, TaskState>();
    await forEachLimited([...decided.keys()], 20, async (id) => {
      finalStates.set(id, await tasks.getState(id));
    });
    const confirmations = await collectConfirmations(plan, decided, config);
    const report: FaultReport = {
      faults,
      tasks: plan.length,
      decidedOnce: 0,
      lost: 0,
      decidedTwice: 0,
      decidedWrongly: 0,
      inboxLeft,
      handRestarts,
    };
    let duplicatesAbsorbed = 0;
    let confirmationsMissing = 0;
    for (const p of plan) {
      const state = finalStates.get(p.taskId);
      if (!state?.result) {
        report.lost++;
        continue;
      }
      const { outcome, comment, decidedBy, channel } = state.result;
      const asReplied =
        outcome === (p.action === 'complete' ? 'completed' : 'failed') &&
        comment === p.comment &&
        decidedBy === p.assignee &&
        channel === 'email';
      const variants = confirmations.get(p.taskId)?.size ?? 0;
      // One reply per task: anything ignored but its own replay means a second decision came in.
      const twice = variants > 1 || state.ignored.some((i) => i.reason !== 'duplicate');
      duplicatesAbsorbed += state.ignored.length;
      if (variants === 0) confirmationsMissing++;
      if (!asReplied) report.decidedWrongly++;
      if (twice) report.decidedTwice++;
      if (asReplied && !twice) report.decidedOnce++;
    }

    const finalExit = await worker.stop();
    const table = formatReport(report);
    for (const line of table.split('\n')) t.diagnostic(line);
    note(
      `worker processes started: ${worker.starts}; replays absorbed as duplicate: ${duplicatesAbsorbed}; ` +
        `confirmations missing: ${confirmationsMissing}; SIGTERM exits: ${sigtermExits.map((e) => `${e.ms} ms code ${e.code}`).join(', ') || 'none'}; ` +
        `final stop: ${finalExit ? `${finalExit.ms} ms code ${finalExit.code}` : 'not running'}`,
    );

    assert.equal(report.lost, 0, 'lost');
    assert.equal(report.decidedTwice, 0, 'decided twice');
    assert.equal(report.decidedWrongly, 0, 'decided otherwise than replied');
    assert.equal(report.inboxLeft, 0, 'INBOX left');
    assert.equal(report.handRestarts, 0, 'worker restarts needed by hand');
    assert.equal(report.decidedOnce, plan.length, 'decided exactly once');
    assert.equal(confirmationsMissing, 0, 'every decided task confirmed its outcome');
    for (const exit of sigtermExits) {
      assert.equal(exit.code, 0, 'SIGTERM mid-sync: the worker drained and exited by itself');
      assert.ok(exit.ms <= SHUTDOWN_GRACE_MS + 5_000, `SIGTERM mid-sync: exited after ${exit.ms} ms`);
    }
    assert.notEqual(finalExit?.code, EXIT_FORCED, 'the last worker exited by itself');
  } finally {
    await worker.stop();
    await restorePassword?.();
    await startDaemons(stackDir, log);
    // The stack outlives this run: leave no schedule ticking for a task queue nobody serves.
    const { client, connection } = await connectTemporal(config.temporal);
    await client.schedule
      .getHandle(syncScheduleId(config.temporal.taskQueue))
      .delete()
      .catch(() => undefined);
    await connection.close();
  }
});

/** Reads each assignee's INBOX until every planned task's request is there; sets the links. */
async function collectRequests(plan: PlannedTask[], config: ReturnType<typeof testConfig>): Promise<void> {
  const byId = new Map(plan.map((p) => [p.taskId, p]));
  const readers = ASSIGNEES.map((a) => new MailboxReader(config, a));
  await poll('every request to arrive', 5 * 60_000, async () => {
    for (const reader of readers) {
      for (const mail of await reader.readNew()) {
        if (!(mail.subject ?? '').startsWith('Action required')) continue;
        const id = /fault-[0-9a-f]{8}/.exec(mail.text ?? '')?.[0];
        const planned = id === undefined ? undefined : byId.get(id);
        if (!planned || planned.assignee !== reader.address) continue;
        const [complete, fail] = mailtoLinks(mail.html || '');
        planned.link = planned.action === 'complete' ? complete : fail;
      }
    }
    return plan.every((p) => p.link);
  });
}

/** Confirmations per task, as distinct (subject, text) pairs: a resend is the same pair. */
async function collectConfirmations(
  plan: PlannedTask[],
  decided: Map<string, TaskState>,
  config: ReturnType<typeof testConfig>,
): Promise<Map<string, Set<string>>> {
  const found = new Map<string, Set<string>>();
  const readers = ASSIGNEES.map((a) => new MailboxReader(config, a));
  await poll('a confirmation for every decided task', 120_000, async () => {
    for (const reader of readers) {
      for (const mail of await reader.readNew()) {
        if (!/^(Completed|Failed)/.test(mail.subject ?? '')) continue;
        const id = /fault-[0-9a-f]{8}/.exec(mail.text ?? '')?.[0];
        if (id === undefined) continue;
        const variants = found.get(id) ?? new Set<string>();
        variants.add(`${mail.subject}\n${mail.text}`);
        found.set(id, variants);
      }
    }
    return plan.every((p) => !decided.has(p.taskId) || found.has(p.taskId));
  }).catch(() => undefined);
  return found;
}

/** A person's mail program: tries again until the server takes the message. */
async function retryUntilSent(send: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  for (let wait = 1_000; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await send();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(wait);
    }
  }
}

async function poll<T>(what: string, timeoutMs: number, check: () => Promise<T | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => false as const);
    if (value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1_000);
  }
}

async function forEachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
