import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { RemoteCompletionClient } from '../../client/task-client';
import { connectTemporal } from '../../client/connect';
import { keyring } from '../../domain/token';
import type { WorkerHandle } from '../../worker/run-worker';
import type { TaskState } from '../../workflows/definitions';
import {
  clearInbox,
  COMPLETION,
  eventually,
  inboxCount,
  logDir,
  stackDir,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
} from '../helpers/env';
import {
  DECISIONS,
  loadCorpus,
  NEEDS,
  USERS,
  type FloodCase,
  type MailCase,
  type Need,
  type TaskStartCase,
} from '../support/hostile/case-file';
import { Delivery } from '../support/hostile/delivery';
import { floodJunk, generators } from '../support/hostile/generators';
import { outcomesLoggedSince, outcomesOf, type MessageOutcome } from '../support/hostile/outcomes';
import { hasMessage, listInbox, type InboxEntry } from '../support/hostile/inbox';
import { renderTemplate } from '../support/hostile/render';
import { formatReport, type ReportSummary } from '../support/hostile/report';
import { runOneSync } from '../support/hostile/sync-run';
import { tokenForge } from '../support/hostile/tokens';
import { judge, reportRows, summary, type CaseRun, type TaskRef } from '../support/hostile/verdict';

/**
 * The hostile-mail corpus (test/fixtures/hostile): every case is delivered through the real
 * Postfix (or LMTP) into the completion mailbox and read by a real sync. Cases that check what
 * another branch builds run and are reported, but are asserted only once the lead lists that
 * branch here at merge (or in HOSTILE_CORPUS_NEEDS=auth,intake,parsers for a try).
 */
const MERGED: readonly Need[] = [];
const ENABLED = new Set<string>([
  ...MERGED,
  ...(process.env.HOSTILE_CORPUS_NEEDS ?? '')
    .split(',')
    .filter((n) => (NEEDS as readonly string[]).includes(n)),
]);

const LOG = 'hostile-corpus';
const MAX_MESSAGE_BYTES = 1_000_000;
const config = testConfig((c) => {
  triggeredSyncsOnly(c);
  c.imap.maxMessageBytes = MAX_MESSAGE_BYTES;
  c.whitelist = { enabled: true, domains: ['example.test'] };
});
const forgeToken = tokenForge(keyring(config.signature.secrets));
/** Failure bounds only (a stalled sync never ends by itself), never assertions on speed. */
const SYNC_LIMIT_MS = 180_000;
const DELIVERY_LIMIT_MS = 120_000;

type RoundReport = ReportSummary['rounds'][number];

let worker: WorkerHandle;
let tasks: RemoteCompletionClient;
let temporal: Client;
let closeConnection: () => Promise<void>;
let delivery: Delivery;
const runs: CaseRun[] = [];
const rounds: RoundReport[] = [];
const decidingMessageIds = new Set<string>();
const startedTasks: TaskRef[] = [];
const logFile = path.join(logDir, `${LOG}.log`);

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

async function startTask(label: string, assignees: string[], description?: string): Promise<TaskRef> {
  const taskId = unique(`corpus-${label}`);
  const title = `Corpus ${label}`;
  const { workflowId } = await tasks.start({ taskId, title, assignees, description });
  const described = await temporal.workflow.getHandle(workflowId).describe();
  const runId = described.raw.workflowExecutionInfo?.firstRunId || described.runId;
  const task = { taskId, workflowId, runId, title };
  startedTasks.push(task);
  return task;
}

/** Waits until the task has sent (or failed to send) its requests; undefined if that never happens. */
async function requestsSent(task: TaskRef): Promise<TaskState | undefined> {
  return eventually(
    `task ${task.taskId} to send its requests`,
    // A query can fail while the worker is busy; the next poll asks again.
    async () => {
      const state = await stateOf(task).catch(() => undefined);
      return state !== undefined && state.status !== 'sending' && state;
    },
    DELIVERY_LIMIT_MS,
  ).catch(() => undefined);
}

const stateOf = (task: TaskRef) => tasks.getState(task.taskId);

const lmtpSender = (run: CaseRun) => `corpus-${run.c.id}@example.test`;

/** One message of a round: how to deliver it and how to find it again in INBOX. */
interface Outgoing {
  run?: CaseRun;
  raw: Buffer;
  /** 'lmtp', or the stack user who submits it through Postfix. */
  via: string;
  envelopeFrom: string;
  messageId: string;
}

async function deliverAll(outgoing: Outgoing[], concurrency = 4): Promise<number> {
  let delivered = 0;
  await mapLimit(outgoing, concurrency, async (o) => {
    try {
      if (o.via === 'lmtp') await delivery.inject(o.raw, o.envelopeFrom);
      else await delivery.submit(o.via, o.raw, o.envelopeFrom);
      delivered++;
    } catch (err) {
      if (!o.run) throw err;
      o.run.observed.push(`refused: ${(err as Error).message.split('\n')[0]!.slice(0, 80)}`);
    }
  });
  return delivered;
}

async function waitForInbox(count: number): Promise<void> {
  await eventually(
    `${count} messages in INBOX`,
    async () => (await inboxCount(config, COMPLETION)) >= count,
    DELIVERY_LIMIT_MS,
  );
}

function chaserReply(task: TaskRef, messageId: string): Buffer {
  return renderTemplate(
    [
      'From: alice@example.test',
      'To: completion@example.test',
      'Subject: {{subject:complete:alice}}',
      'Message-ID: {{messageId}}',
      'Date: {{date}}',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Sent right after the round, must decide within one sync.',
      '{{prefilled:complete:alice}}',
    ].join('\n'),
    {
      title: task.title,
      taskId: task.taskId,
      messageIdOf: () => messageId,
      token: (action, recipient, variant) => forgeToken(task, action, recipient, variant),
    },
  );
}

/**
 * Delivers a round's messages, then a valid reply (the chaser) right behind them, runs syncs
 * (one, or up to `maxSyncs` for a flood bigger than one run), and records what happened to each.
 */
async function runRound(
  name: string,
  outgoing: Outgoing[],
  { maxSyncs = 1, concurrency = 4 } = {},
): Promise<{ outcomes: MessageOutcome[]; inbox: InboxEntry[]; report: RoundReport }> {
  const started = Date.now();
  const report: RoundReport = { name, messages: outgoing.length, syncs: 0, deliverMs: 0, syncMs: 0 };
  rounds.push(report);
  const chaser = await startTask(`chaser-${name}`, [USERS.alice]);
  const chaserId = `<corpus.chaser.${randomUUID()}@example.test>`;
  decidingMessageIds.add(chaserId);

  const delivered = await deliverAll(outgoing, concurrency);
  await waitForInbox(delivered);
  await delivery.submit(USERS.alice, chaserReply(chaser, chaserId));
  await waitForInbox(delivered + 1);
  const inbox = await listInbox(config);
  const offset = statSync(logFile).size;
  report.deliverMs = Date.now() - started;

  while (report.syncs < maxSyncs && !report.stalled) {
    report.syncs++;
    const { stalled } = await runOneSync(temporal, config, SYNC_LIMIT_MS);
    if (stalled) report.stalled = stalled;
    if ((await inboxCount(config, COMPLETION)) === 0) break;
  }
  const left = new Set((await listInbox(config)).map((e) => e.uid));
  if (!report.stalled && left.size > 0)
    report.stalled = `${left.size} message(s) still in INBOX after ${report.syncs} sync(s)`;
  if (!report.stalled) {
    const decided = await eventually(
      'the chaser to decide',
      async () => (await stateOf(chaser)).result ?? false,
      15_000,
    ).catch(() => undefined);
    if (!decided) report.stalled = 'the valid reply sent right after the round did not decide its task';
  }
  // Every message that left INBOX has its outcome logged; give the last lines a moment to land.
  const handled = inbox.filter((e) => !left.has(e.uid)).length;
  const outcomes = await eventually(
    'an outcome for every handled message',
    () => {
      const found = outcomesLoggedSince(logFile, offset);
      return Promise.resolve(found.length >= handled && found);
    },
    10_000,
  ).catch(() => outcomesLoggedSince(logFile, offset));
  for (const run of outgoing.flatMap((o) => (o.run ? [o.run] : [])))
    run.leftInInbox = run.uids.some((u) => left.has(u));
  report.syncMs = Date.now() - started - report.deliverMs;
  return { outcomes, inbox, report };
}

/** Finds each case's copies in INBOX by Message-ID, or by the LMTP envelope sender when it has none. */
function locate(runsOfRound: CaseRun[], inbox: InboxEntry[]): void {
  for (const run of runsOfRound) {
    const mine = inbox.filter(
      (e) => e.messageId === run.messageId || (e.messageId === undefined && e.returnPath === lmtpSender(run)),
    );
    run.uids = mine.map((e) => e.uid);
    run.sizes = mine.map((e) => e.size);
  }
}

function renderCase(run: CaseRun & { c: MailCase }, messageIds: Map<string, string>): Outgoing {
  const c = run.c;
  const task = run.task!;
  const generated = c.generate
    ? generators[c.generate.kind]({
        size: c.generate.size,
        maxMessageBytes: MAX_MESSAGE_BYTES,
        validToken: () => forgeToken(task, 'complete', USERS.alice, 'valid'),
        badToken: () => forgeToken(task, 'complete', USERS.alice, 'forged-key-id'),
      })
    : undefined;
  const raw = renderTemplate(c.template, {
    title: task.title,
    taskId: task.taskId,
    messageIdOf: (id = c.id) => {
      const found = messageIds.get(id);
      if (!found) throw new Error(`${c.id}: no Message-ID for case ${id}`);
      return found;
    },
    token: (action, recipient, variant) => forgeToken(task, action, recipient, variant),
    generated,
  });
  const via = c.deliver === 'lmtp' ? 'lmtp' : (USERS[c.deliver.slice(5) as keyof typeof USERS] ?? COMPLETION);
  const envelopeFrom = c.envelopeFrom ?? (via === 'lmtp' ? lmtpSender(run) : via);
  return { run, raw, via, envelopeFrom, messageId: run.messageId };
}

async function prepareTask(run: CaseRun & { c: MailCase }): Promise<void> {
  const { task: spec } = run.c;
  if (spec.shareWith !== undefined) return;
  run.task = await startTask(
    run.c.id,
    spec.assignees.map((a) => USERS[a]),
  );
  // The state to compare with afterwards is the settled one, not 'sending'.
  await requestsSent(run.task);
  const { taskId } = run.task;
  if (spec.before === 'reassign-to-carol') await tasks.reassign(taskId, USERS.carol);
  if (spec.before === 'cancel') {
    await tasks.cancel(taskId);
    await eventually(
      'the task to be cancelled',
      async () => (await tasks.getState(taskId)).status === 'cancelled',
    );
  }
  if (spec.before === 'complete-by-api') {
    await tasks.complete(taskId, { by: 'api-user', comment: 'done through the API' });
    await tasks.waitForResult(taskId, 15_000);
  }
}

async function runMailRounds(mailRuns: (CaseRun & { c: MailCase })[]): Promise<void> {
  const messageIds = new Map(mailRuns.map((r) => [r.c.id, r.messageId]));
  // A case that sends another case's message again (same Message-ID) is found by that id.
  for (const run of mailRuns) {
    const reused = /^Message-ID: \{\{messageId:([a-z0-9-]+)\}\}$/m.exec(run.c.template)?.[1];
    if (reused !== undefined) run.messageId = messageIds.get(reused) ?? run.messageId;
  }
  const deliverable = mailRuns.filter((r) => r.state !== 'not-run');
  const groups: [string, (CaseRun & { c: MailCase })[]][] = [
    ['1', deliverable.filter((r) => !r.c.alone && r.c.round === 1)],
    ['2', deliverable.filter((r) => !r.c.alone && r.c.round === 2)],
    ...deliverable
      .filter((r) => r.c.alone)
      .map((r): [string, (CaseRun & { c: MailCase })[]] => [r.c.id, [r]]),
  ];
  for (const [name, group] of groups) {
    if (group.length === 0) continue;
    for (const run of group) {
      if (run.c.task.shareWith !== undefined)
        run.task = runs.find((r) => r.c.id === run.c.task.shareWith)!.task;
      run.before = await stateOf(run.task!);
    }
    const outgoing = group.flatMap((run) =>
      Array.from({ length: run.c.copies }, () => renderCase(run, messageIds)),
    );
    const { outcomes, inbox } = await runRound(name, outgoing);
    locate(group, inbox);
    for (const run of group) {
      run.observed.push(...outcomesOf(outcomes, { uids: run.uids, messageIds: [run.messageId] }));
      if (run.c.alone && run.c.generate)
        run.note = `${run.sizes.map((s) => `${Math.round(s / 1000)} kB`).join(', ')}`;
    }
  }
}

async function runFlood(run: CaseRun & { c: FloodCase }): Promise<void> {
  const { junk, valid } = run.c;
  const validTasks = await mapLimit(
    Array.from({ length: valid }, (_, i) => i),
    4,
    (i) => startTask(`${run.c.id}-valid-${i}`, [USERS.alice]),
  );
  const junkIds = Array.from({ length: junk }, (_, i) => `<corpus.flood.${i}.${randomUUID()}@example.test>`);
  const validIds = validTasks.map(() => `<corpus.flood.valid.${randomUUID()}@example.test>`);
  validIds.forEach((id) => decidingMessageIds.add(id));
  // The valid replies go through Postfix between slices of junk, so they sit among it in INBOX.
  const outgoing: Outgoing[] = [];
  const slice = Math.ceil(junk / valid);
  for (let v = 0; v < valid; v++) {
    for (let i = v * slice; i < Math.min(junk, (v + 1) * slice); i++)
      outgoing.push({
        raw: floodJunk(i, junkIds[i]!),
        via: 'lmtp',
        envelopeFrom: 'flood@example.test',
        messageId: junkIds[i]!,
      });
    outgoing.push({
      raw: chaserReply(validTasks[v]!, validIds[v]!),
      via: USERS.alice,
      envelopeFrom: USERS.alice,
      messageId: validIds[v]!,
    });
  }
  const { outcomes, inbox } = await runRound(run.c.id, outgoing, { maxSyncs: 4, concurrency: 16 });
  const junkSet = new Set(junkIds);
  const junkUids = inbox
    .filter((e) => e.messageId !== undefined && junkSet.has(e.messageId))
    .map((e) => e.uid);
  run.uids = junkUids;
  run.observed = outcomesOf(outcomes, { uids: junkUids, messageIds: [] });
  const left = new Set((await listInbox(config)).map((e) => e.uid));
  run.leftInInbox = junkUids.some((u) => left.has(u));
  const validStates = await Promise.all(validTasks.map(stateOf));
  const decided = validStates.filter((s) => s.result?.outcome === 'completed').length;
  run.note = `${junkUids.length} junk in INBOX, ${decided}/${valid} valid replies decided`;
  if (junkUids.length !== junk)
    run.problems.push(`${junkUids.length} of ${junk} junk messages reached INBOX`);
  if (decided !== valid)
    run.problems.push(`${decided} of ${valid} valid replies among the junk decided their task`);
}

async function runTaskStart(run: CaseRun & { c: TaskStartCase }): Promise<void> {
  const { unit, bytes } = run.c.descriptionRepeat;
  const description = unit.repeat(Math.floor(bytes / unit.length));
  const started = Date.now();
  run.task = await startTask(run.c.id, [USERS.alice], description);
  const state = await requestsSent(run.task);
  const assignee = state?.assignees[0];
  run.observed = [
    assignee?.delivery === 'sent' ? 'request-sent' : `request ${assignee?.delivery ?? 'pending'}`,
  ];
  if (assignee?.delivery === 'sent' && !(await hasMessage(config, USERS.alice, assignee.messageId ?? '')))
    run.problems.push("the request is not in alice's INBOX");
  run.note = `${Math.round(description.length / 1000)} kB description, sent after ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

before(async () => {
  await clearInbox(config, COMPLETION);
  worker = await startWorker(config, testLogger(LOG));
  tasks = await taskClient(config);
  const { client, connection } = await connectTemporal(config.temporal);
  closeConnection = () => connection.close();
  temporal = client;
  delivery = new Delivery(config, stackDir, COMPLETION);

  for (const c of loadCorpus()) {
    const missing = c.needs.filter((n) => !ENABLED.has(n));
    const state = missing.length === 0 ? 'asserted' : c.blocksWorkerToday ? 'not-run' : 'pending';
    const messageId = `<corpus.${c.id}.${randomUUID()}@example.test>`;
    runs.push({
      c,
      state,
      missing,
      messageId,
      uids: [],
      sizes: [],
      observed: [],
      leftInInbox: false,
      problems: [],
    });
  }
  const active = runs.filter((r) => r.state !== 'not-run');
  const mailRuns = active.filter((r): r is CaseRun & { c: MailCase } => r.c.kind === 'mail');
  for (const run of mailRuns) if (run.c.decides) decidingMessageIds.add(run.messageId);

  // Task starts run while the mail rounds go on: a slow request must not hold anything else up.
  const taskStarts = Promise.all(
    active.filter((r): r is CaseRun & { c: TaskStartCase } => r.c.kind === 'task-start').map(runTaskStart),
  );
  await mapLimit(mailRuns, 6, prepareTask);
  await runMailRounds(mailRuns);
  for (const run of active.filter((r): r is CaseRun & { c: FloodCase } => r.c.kind === 'flood'))
    await runFlood(run);
  await taskStarts;

  for (const run of active) {
    if (run.task && run.c.kind === 'mail') run.after = await stateOf(run.task);
    judge(run);
  }
});

after(async () => {
  // Tasks left waiting would linger in the test stack's Temporal; ended quietly, without emails.
  await mapLimit(startedTasks, 8, (task) =>
    temporal.workflow
      .getHandle(task.workflowId)
      .terminate('hostile corpus done')
      .catch(() => undefined),
  );
  delivery?.close();
  await worker?.shutdown();
  await closeConnection?.();
});

describe('hostile corpus', () => {
  test('has at least 60 cases, each run or explicitly waiting for its branch', () => {
    assert.ok(runs.length >= 60, `${runs.length} cases`);
  });

  for (const c of loadCorpus()) {
    test(`${c.id}: ${c.description.split('\n')[0]!.slice(0, 90)}`, (t) => {
      const run = runs.find((r) => r.c.id === c.id)!;
      if (run.state !== 'asserted') {
        t.skip(
          `needs ${run.missing.join(', ')} (merged later); today: ${run.problems.join('; ') || run.observed.join('+') || 'not run'}`,
        );
        return;
      }
      assert.deepEqual(run.problems, []);
    });
  }

  test('no wrongful decision, no stalled sync; the table', (t) => {
    const s = summary(runs, rounds);
    for (const line of formatReport(reportRows(runs), s)) t.diagnostic(line);
    // Every decision by mail in the whole run came from a message meant to decide (or a pending case).
    const pendingIds = new Set(runs.filter((r) => r.state === 'pending').map((r) => r.messageId));
    const unexplained = outcomesLoggedSince(logFile, 0)
      .filter((o) => o.messageId !== undefined && (DECISIONS as readonly string[]).includes(o.outcome))
      .map((o) => o.messageId!)
      .filter((id) => !decidingMessageIds.has(id) && !pendingIds.has(id));
    assert.deepEqual(unexplained, [], 'decisions by messages not meant to decide');
    assert.equal(s.wrongfulEnforced, 0, 'wrongful decisions');
    assert.deepEqual(
      rounds.filter((r) => r.stalled).map((r) => `${r.name}: ${r.stalled}`),
      [],
      'stalled rounds',
    );
  });
});
