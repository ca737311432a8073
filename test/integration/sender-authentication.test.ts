import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { SendMailOptions } from 'nodemailer';
import { connectTemporal } from '../../client/connect';
import type { RemoteCompletionClient } from '../../client/task-client';
import type { Config } from '../../config/schema';
import { mailtoLinks, replyFromLink } from '../../dev/mail-client';
import { pickFreePorts } from '../../dev/stack/processes';
import type { WorkerHandle } from '../../worker/run-worker';
import { syncScheduleId, triggerSync } from '../../worker/sync-schedule';
import {
  clearInbox,
  COMPLETION,
  eventually,
  inboxCount,
  logLines,
  sendAs,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
  waitForMail,
} from '../helpers/env';

// Every reply here goes through the stack's real Postfix (AUTH, OpenDKIM signs with the key of
// the login's domain) and Dovecot; DKIM keys and DMARC records come from the stack's dnsmasq.
const ALICE = 'alice@example.test';
const BOB = 'bob@other.test';
const TRUSTED_MX = 'mx.example.test';

let temporal: Client;
let closeTemporal: () => Promise<void>;
before(async () => {
  const { client, connection } = await connectTemporal(testConfig().temporal);
  temporal = client;
  closeTemporal = () => connection.close();
});
after(() => closeTemporal());

interface Session {
  config: Config;
  log: string;
  tasks: RemoteCompletionClient;
  worker: WorkerHandle;
}

/** One worker at a time reads the completion mailbox: each block starts its own and stops it. */
function workerWith(name: string, change: (c: Config) => void): Session {
  const session = {} as Session;
  before(async () => {
    session.config = testConfig((c) => {
      triggeredSyncsOnly(c);
      change(c);
    });
    session.log = unique(`sender-auth-${name}`);
    await clearInbox(session.config, COMPLETION);
    session.worker = await startWorker(session.config, testLogger(session.log));
    session.tasks = await taskClient(session.config);
  });
  after(() => session.worker.shutdown());
  beforeEach(() => clearInbox(session.config, COMPLETION));
  return session;
}

/** Starts a task for alice and returns her Complete button's reply. */
async function aliceTask(s: Session): Promise<{ taskId: string; reply: ReturnType<typeof replyFromLink> }> {
  const taskId = unique('auth');
  await s.tasks.start({ taskId, title: 'Approve the deploy', assignees: ALICE });
  const [request] = await waitForMail(
    s.config,
    ALICE,
    (m) => (m.subject ?? '').startsWith('Action required') && (m.text ?? '').includes(taskId),
  );
  return { taskId, reply: replyFromLink(mailtoLinks(request!.parsed.html || '')[0]!, 'Approved.\n') };
}

/** Submits as `login` (SMTP AUTH), then runs a sync. */
async function submit(s: Session, login: string, message: SendMailOptions): Promise<void> {
  await sendAs(s.config, login, { to: COMPLETION, ...message });
  await eventually('the reply in INBOX', async () => (await inboxCount(s.config, COMPLETION)) > 0);
  await triggerSync(temporal, s.config.temporal.taskQueue);
}

/** A reply as a raw message: header lines exactly as given, on top. */
function raw(headers: string[], reply: { subject: string; text: string }, messageId: string) {
  const lines = [
    ...headers,
    `To: ${COMPLETION}`,
    `Subject: ${reply.subject}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    reply.text.replace(/\r?\n/g, '\r\n'),
  ];
  return lines.join('\r\n');
}

const rawFrom = (login: string, body: string) => ({ envelope: { from: login, to: [COMPLETION] }, raw: body });

async function outcomeOf(s: Session, messageId: string): Promise<Record<string, unknown>> {
  return eventually(`a log line for ${messageId}`, () =>
    Promise.resolve(logLines(s.log, { messageId }).find((l) => typeof l.outcome === 'string')),
  );
}

async function assertStillWaiting(s: Session, taskId: string): Promise<void> {
  const state = await s.tasks.getState(taskId);
  assert.equal(state.status, 'waiting');
  assert.equal(state.result, undefined);
  await s.tasks.cancel(taskId);
}

describe('senderAuthentication.mode verify (the default): DKIM and DMARC checked in the worker', () => {
  const s = workerWith('verify', () => {});

  test('bob, logged in as bob@other.test, sends From alice with her Complete token: unauthenticated', async () => {
    const { taskId, reply } = await aliceTask(s);
    const messageId = `<${unique('forged')}@other.test>`;
    // His server binds MAIL FROM to his login, but not a From header of another domain.
    await submit(s, BOB, { ...reply, from: ALICE, envelope: { from: BOB, to: [COMPLETION] }, messageId });
    const line = await outcomeOf(s, messageId);
    assert.equal(line.outcome, 'unauthenticated');
    assert.equal(line.from, ALICE);
    const verdict = line.senderAuthentication as { status: string; summary: string; checkMs: number };
    assert.equal(verdict.status, 'fail');
    assert.equal(verdict.summary, 'dmarc=fail (p=reject) header.from=example.test; dkim=pass d=other.test');
    assert.match(
      String(line.reason),
      /^the From domain of alice@example\.test is not authenticated \(verify\)/,
    );
    await assertStillWaiting(s, taskId);
  });

  test("alice's own reply, signed by her server, decides the task", async () => {
    const { taskId, reply } = await aliceTask(s);
    const messageId = `<${unique('real')}@example.test>`;
    await submit(s, ALICE, { ...reply, messageId });
    const result = await s.tasks.waitForResult(taskId, 15_000);
    assert.deepEqual([result.outcome, result.decidedBy], ['completed', ALICE]);
    const [read] = logLines(s.log, { msg: 'decision read', messageId });
    assert.ok(read, 'the decision was read');
  });

  const shapes: [string, string[]][] = [
    ['two mailboxes in From', [`From: ${ALICE}, evil@attacker.test`]],
    ['two From headers', [`From: ${ALICE}`, 'From: evil@attacker.test']],
    ['from: and FROM:', [`from: ${ALICE}`, `FROM: ${ALICE}`]],
    ['a group', [`From: team: ${ALICE};`]],
  ];
  for (const [shape, fromLines] of shapes) {
    test(`${shape}: sender-mismatch, even sent and signed by alice's own server`, async () => {
      const { taskId, reply } = await aliceTask(s);
      const messageId = `<${unique('shape')}@example.test>`;
      await submit(s, ALICE, rawFrom(ALICE, raw(fromLines, reply, messageId)));
      const line = await outcomeOf(s, messageId);
      assert.equal(line.outcome, 'sender-mismatch', JSON.stringify(line));
      assert.match(String(line.reason), /^From refused: /);
      await assertStillWaiting(s, taskId);
    });
  }
});

describe('senderAuthentication.mode authentication-results: the trusted server decides', () => {
  const s = workerWith('authentication-results', (c) => {
    c.senderAuthentication = {
      ...c.senderAuthentication,
      mode: 'authentication-results',
      authservId: TRUSTED_MX,
    };
  });
  // The stack has no inbound server that writes Authentication-Results: the test writes the trusted
  // header on top, as that server would, and below it the header an attacker put in the message.
  const forgedBelow = `Authentication-Results: ${TRUSTED_MX}; dkim=pass header.d=example.test; dmarc=pass header.from=example.test`;

  test("the trusted header's fail counts, not the forged pass below it", async () => {
    const { taskId, reply } = await aliceTask(s);
    const messageId = `<${unique('ar-forged')}@other.test>`;
    const trusted = `Authentication-Results: ${TRUSTED_MX}; dkim=pass header.d=other.test; dmarc=fail (p=reject) header.from=example.test`;
    await submit(s, BOB, rawFrom(BOB, raw([trusted, forgedBelow, `From: ${ALICE}`], reply, messageId)));
    const line = await outcomeOf(s, messageId);
    assert.equal(line.outcome, 'unauthenticated');
    assert.match(
      (line.senderAuthentication as { summary: string }).summary,
      /^mx\.example\.test: dkim=pass header\.d=other\.test; dmarc=fail header\.from=example\.test$/,
    );
    await assertStillWaiting(s, taskId);
  });

  test('the trusted pass on top decides; an attacker header of another authserv-id is ignored', async () => {
    const { taskId, reply } = await aliceTask(s);
    const messageId = `<${unique('ar-real')}@example.test>`;
    const trusted = `Authentication-Results: ${TRUSTED_MX} 1; dkim=pass (2048-bit key) header.d=example.test header.s=stack; dmarc=pass (p=REJECT) header.from=example.test`;
    const other = 'Authentication-Results: mx.attacker.test; dmarc=fail header.from=example.test';
    await submit(s, ALICE, rawFrom(ALICE, raw([other, trusted, `From: Alice <${ALICE}>`], reply, messageId)));
    const result = await s.tasks.waitForResult(taskId, 15_000);
    assert.deepEqual([result.outcome, result.decidedBy], ['completed', ALICE]);
  });
});

describe('DNS temporary errors: the reply stays in INBOX, bounded by its age', () => {
  const s = {} as Session;
  let goodDns: string[];
  let deadDns: string;
  /** Restarts the worker on the same task queue (the tasks' workflows live there) with other settings. */
  async function restart(name: string, change: (auth: Config['senderAuthentication']) => void) {
    await s.worker?.shutdown();
    change(s.config.senderAuthentication);
    s.log = unique(`sender-auth-${name}`);
    s.worker = await startWorker(s.config, testLogger(s.log));
  }
  before(async () => {
    s.config = testConfig(triggeredSyncsOnly);
    goodDns = s.config.senderAuthentication.dnsServers;
    const [port] = await pickFreePorts(1);
    deadDns = `127.0.0.1:${port!}`; // nothing listens there: every query is refused
    await clearInbox(s.config, COMPLETION);
    s.tasks = await taskClient(s.config);
  });
  after(() => s.worker.shutdown());

  test('a valid reply is kept while DNS is down, and decides the task once DNS answers again', async () => {
    await restart('dns-down', (auth) => (auth.dnsServers = [deadDns]));
    const { taskId, reply } = await aliceTask(s);
    const messageId = `<${unique('dns')}@example.test>`;
    await submit(s, ALICE, { ...reply, messageId });
    const line = await outcomeOf(s, messageId);
    assert.equal(line.outcome, 'deferred');
    assert.equal((line.senderAuthentication as { status: string }).status, 'temperror');
    const schedule = temporal.schedule.getHandle(syncScheduleId(s.config.temporal.taskQueue));
    await eventually(
      'the sync run to end',
      async () => (await schedule.describe()).info.runningActions.length === 0,
    );
    assert.equal(await inboxCount(s.config, COMPLETION), 1, 'still in INBOX');
    assert.equal((await s.tasks.getState(taskId)).status, 'waiting');

    await restart('dns-back', (auth) => (auth.dnsServers = goodDns));
    await triggerSync(temporal, s.config.temporal.taskQueue);
    const result = await s.tasks.waitForResult(taskId, 15_000);
    assert.deepEqual([result.outcome, result.decidedBy], ['completed', ALICE]);
    await eventually('INBOX emptied', async () => (await inboxCount(s.config, COMPLETION)) === 0);
  });

  test('a reply older than retryTemporaryErrorsFor is rejected as unauthenticated, with the DNS error', async () => {
    await restart('dns-down-too-old', (auth) => {
      auth.dnsServers = [deadDns];
      auth.retryTemporaryErrorsFor = 0;
    });
    const { taskId, reply } = await aliceTask(s);
    const messageId = `<${unique('dns-old')}@example.test>`;
    await submit(s, ALICE, { ...reply, messageId });
    const line = await outcomeOf(s, messageId);
    assert.equal(line.outcome, 'unauthenticated');
    assert.match(String(line.reason), /dmarc=temperror header\.from=example\.test \(.*ECONNREFUSED/);
    await assertStillWaiting(s, taskId);
  });
});

describe('senderAuthentication.mode off', () => {
  const s = workerWith('off', (c) => (c.senderAuthentication.mode = 'off'));
  test('the worker warns at start', async () => {
    const warning = await eventually('the warning', () =>
      Promise.resolve(logLines(s.log, { senderAuthentication: 'off' })[0]),
    );
    assert.equal(warning.level, 40);
    assert.match(String(warning.msg), /^sender authentication is off/);
  });
});
