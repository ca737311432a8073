import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { TaskInputError, type RemoteCompletionClient } from '../../client/task-client';
import { connectTemporal } from '../../client/connect';
import { keyring } from '../../domain/token';
import type { WorkerHandle } from '../../worker/run-worker';
import type { TaskState } from '../../workflows/definitions';
import type { SyncSummary } from '../../workflows/mailbox-sync';
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
  USERS,
  type FloodCase,
  type MailCase,
  type TaskStartCase,
} from '../support/hostile/case-file';
import { Delivery } from '../support/hostile/delivery';
import { floodJunk, generators } from '../support/hostile/generators';
import { outcomesLoggedSince, roundOutcomes, type MessageOutcome } from '../support/hostile/outcomes';
import { hasMessage, listInbox, type InboxEntry } from '../support/hostile/inbox';
import { renderTemplate } from '../support/hostile/render';
import { formatReport, type ReportSummary } from '../support/hostile/report';
import { runOneSync } from '../support/hostile/sync-run';
import { tokenForge } from '../support/hostile/tokens';
import { judge, reportRows, summary, type CaseRun, type TaskRef } from '../support/hostile/verdict';

/**
 * The hostile-mail corpus (test/fixtures/hostile): every case is delivered through the real
 * Postfix (or LMTP) into the completion mailbox and read by a real sync, whose result says what
 * became of each message; the task workflows' verdicts on decisions come from the worker's log.
 */

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

async function startTask(
  label: string,
  assignees: string[],
  description?: string,
  taskId = unique(`corpus-${label}`),
): Promise<TaskRef> {
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
      o.run.observed.push('refused');
      o.run.note = `${(err as { response?: string }).response ?? (err as Error).message}`.slice(0, 100);
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
): Promise<{ outcomes: MessageOutcome[]; inbox: InboxEntry[]; summaries: SyncSummary[]; logOffset: number }> {
  const started = Date.now();
  const report: RoundReport = {
    name,
    messages: outgoing.length,
    syncs: 0,
    deliverMs: 0,
    syncMs: 0,
    problems: [],
  };
  rounds.push(report);
  const chaser = await startTask(`chaser-${name}`, [USERS.alice]);
  const chaserId = `<corpus.chaser.${randomUUID()}@example.test>`;
  decidingMessageIds.add(chaserId);

  const delivered = await deliverAll(outgoing, concurrency);
  await waitForInbox(delivered);
  await delivery.submit(USERS.alice, chaserReply(chaser, chaserId));
  await waitForInbox(delivered + 1);
  const inbox = await listInbox(config);
  const logOffset = statSync(logFile).size;
  report.deliverMs = Date.now() - started;

  const summaries: SyncSummary[] = [];
  while (report.syncs < maxSyncs && !report.stalled) {
    report.syncs++;
    const { summary, stalled } = await runOneSync(temporal, config, SYNC_LIMIT_MS);
    if (summary) summaries.push(summary);
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
  // The sync results say what became of each message; a signalled decision's verdict is the
  // task's, logged by its workflow: give the last lines a moment to land.
  const read = () => roundOutcomes(summaries, outcomesLoggedSince(logFile, logOffset));
  const { outcomes, problems } = await eventually(
    "the tasks' verdicts on every signalled decision",
    () => {
      const found = read();
      return Promise.resolve(found.verdictsMissing === 0 && found);
    },
    10_000,
  ).catch(read);
  // A flood's sync results list only the first messages of each run: its junk is read in the log.
  if (maxSyncs === 1) report.problems.push(...problems);
  for (const run of outgoing.flatMap((o) => (o.run ? [o.run] : [])))
    run.leftInInbox = run.uids.some((u) => left.has(u));
  report.syncMs = Date.now() - started - report.deliverMs;
  return { outcomes, inbox, summaries, logOffset };
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
  const groups: [string, (CaseRun & { c: MailCase })[]][] = [
    ['1', mailRuns.filter((r) => !r.c.alone && r.c.round === 1)],
    ['2', mailRuns.filter((r) => !r.c.alone && r.c.round === 2)],
    ...mailRuns.filter((r) => r.c.alone).map((r): [string, (CaseRun & { c: MailCase })[]] => [r.c.id, [r]]),
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
      const mine = outcomes.filter((o) => run.uids.includes(o.uid));
      run.observed.push(...mine.map((o) => o.outcome));
      if (run.c.alone && run.c.generate && mine.length > 0)
        run.note = mine
          .map(
            (o, i) =>
              `${Math.round((run.sizes[i] ?? 0) / 1000)} kB` +
              (o.checkMs === undefined ? '' : `, sender check ${o.checkMs} ms`),
          )
          .join('; ');
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
  const { inbox, summaries, logOffset } = await runRound(run.c.id, outgoing, {
    maxSyncs: 4,
    concurrency: 16,
  });
  const junkSet = new Set(junkIds);
  const junkUids = new Set(
    inbox.filter((e) => e.messageId !== undefined && junkSet.has(e.messageId)).map((e) => e.uid),
  );
  run.uids = [...junkUids];
  // The sync results count every message but list only the first ones of each run: each junk
  // message's outcome is read in the log, and the counts must agree with it.
  const logged = outcomesLoggedSince(logFile, logOffset).filter(
    (l) => l.uid !== undefined && junkUids.has(l.uid),
  );
  run.observed = logged.map((l) => l.outcome);
  const counted = new Map<string, number>();
  for (const s of summaries)
    for (const [code, n] of Object.entries(s.counts)) counted.set(code, (counted.get(code) ?? 0) + n);
  // The valid replies and the chaser are the only messages meant to be signalled.
  counted.set('signalled', (counted.get('signalled') ?? 0) - valid - 1);
  for (const [code, n] of counted) {
    const inLog = run.observed.filter((o) => o === code).length;
    if (n !== inLog) run.problems.push(`the sync results count ${n} junk ${code}, the log ${inLog}`);
  }
  const left = new Set((await listInbox(config)).map((e) => e.uid));
  run.leftInInbox = run.uids.some((u) => left.has(u));
  const validStates = await Promise.all(validTasks.map(stateOf));
  const decided = validStates.filter((s) => s.result?.outcome === 'completed').length;
  run.note = `${junkUids.size} junk in INBOX, ${decided}/${valid} valid replies decided`;
  if (junkUids.size !== junk) run.problems.push(`${junkUids.size} of ${junk} junk messages reached INBOX`);
  if (decided !== valid)
    run.problems.push(`${decided} of ${valid} valid replies among the junk decided their task`);
}

async function runTaskStart(run: CaseRun & { c: TaskStartCase }): Promise<void> {
  const { unit, bytes } = run.c.descriptionRepeat;
  const description = unit.repeat(Math.floor(bytes / unit.length));
  const started = Date.now();
  const size = `${(description.length / 1000).toFixed(1)} kB description`;
  const taskId = unique(`corpus-${run.c.id}`);
  try {
    run.task = await startTask(run.c.id, [USERS.alice], description, taskId);
  } catch (err) {
    if (!(err instanceof TaskInputError)) throw err;
    run.observed = ['input-error'];
    run.note = `${size}: ${err.message.slice(0, 90)}`;
    if (!/description is longer than/.test(err.message))
      run.problems.push(`the error does not say what is wrong: ${err.message}`);
    if (
      await tasks.getState(taskId).then(
        () => true,
        () => false,
      )
    )
      run.problems.push('a task was started all the same');
    return;
  }
  const state = await requestsSent(run.task);
  const assignee = state?.assignees[0];
  run.observed = [
    assignee?.delivery === 'sent' ? 'request-sent' : `request ${assignee?.delivery ?? 'pending'}`,
  ];
  if (assignee?.delivery === 'sent' && !(await hasMessage(config, USERS.alice, assignee.messageId ?? '')))
    run.problems.push("the request is not in alice's INBOX");
  run.note = `${size}, sent after ${((Date.now() - started) / 1000).toFixed(1)} s`;
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
    const messageId = `<corpus.${c.id}.${randomUUID()}@example.test>`;
    runs.push({ c, messageId, uids: [], sizes: [], observed: [], leftInInbox: false, problems: [] });
  }
  const mailRuns = runs.filter((r): r is CaseRun & { c: MailCase } => r.c.kind === 'mail');
  for (const run of mailRuns) if (run.c.decides) decidingMessageIds.add(run.messageId);

  // Task starts run while the mail rounds go on: a slow request must not hold anything else up.
  const taskStarts = Promise.all(
    runs.filter((r): r is CaseRun & { c: TaskStartCase } => r.c.kind === 'task-start').map(runTaskStart),
  );
  await mapLimit(mailRuns, 6, prepareTask);
  await runMailRounds(mailRuns);
  for (const run of runs.filter((r): r is CaseRun & { c: FloodCase } => r.c.kind === 'flood'))
    await runFlood(run);
  await taskStarts;

  for (const run of runs) {
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
  test('has at least 60 cases', () => {
    assert.ok(runs.length >= 60, `${runs.length} cases`);
  });

  for (const c of loadCorpus()) {
    test(`${c.id}: ${c.description.split('\n')[0]!.slice(0, 90)}`, () => {
      assert.deepEqual(runs.find((r) => r.c.id === c.id)!.problems, []);
    });
  }

  test('no wrongful decision, no stalled sync, sync results and log agree; the table', (t) => {
    const s = summary(runs, rounds);
    for (const line of formatReport(reportRows(runs), s)) t.diagnostic(line);
    // Every decision by mail in the whole run came from a message meant to decide.
    const unexplained = outcomesLoggedSince(logFile, 0)
      .filter((o) => o.messageId !== undefined && (DECISIONS as readonly string[]).includes(o.outcome))
      .map((o) => o.messageId!)
      .filter((id) => !decidingMessageIds.has(id));
    assert.deepEqual(unexplained, [], 'decisions by messages not meant to decide');
    assert.equal(s.wrongful, 0, 'wrongful decisions');
    assert.deepEqual(
      rounds.filter((r) => r.stalled).map((r) => `${r.name}: ${r.stalled}`),
      [],
      'stalled rounds',
    );
    assert.deepEqual(
      rounds.flatMap((r) => r.problems.map((p) => `${r.name}: ${p}`)),
      [],
      'sync results and log disagree',
    );
  });
});
