import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { createThreadPool } from '../../mail/thread-pool';
import { createMessageClassifier } from '../../activities/mailbox';
import { configSchema } from '../../config/schema';
import type { ClassifiedMessage, MessageToClassify } from '../../mail/classify-message';
import type { TestJob } from '../support/slow-thread';

const script = path.join(__dirname, '..', 'support', 'slow-thread.ts');
const pool = createThreadPool<TestJob, string>({ script, size: 1, deadlineMs: 1000, maxHeapMb: 32 });
after(() => pool.close());

void test('a job runs in a thread and returns its value', async () => {
  assert.deepEqual(await pool.run({ kind: 'echo', value: 'hi' }), { ok: true, value: 'echo: hi' });
});

void test('a job that never ends is stopped at its deadline; the caller stays free meanwhile and the next job gets a fresh thread', async () => {
  const stuck = pool.run({ kind: 'spin-forever' });
  const queued = pool.run({ kind: 'echo', value: 'after' });
  // The spinning job blocks its own thread only: this thread's timers still run.
  assert.equal(await Promise.race([stuck.then(() => 'job'), sleep(10).then(() => 'caller')]), 'caller');
  assert.deepEqual(await stuck, { ok: false, reason: 'deadline', message: 'still running after 1000 ms' });
  assert.deepEqual(await queued, { ok: true, value: 'echo: after' });
});

void test('a job over the heap cap is stopped as out-of-memory; the pool goes on', async () => {
  // A deadline far away, so that only the heap cap can stop the job.
  const own = createThreadPool<TestJob, string>({ script, size: 1, deadlineMs: 600_000, maxHeapMb: 32 });
  try {
    assert.deepEqual(await own.run({ kind: 'eat-memory' }), {
      ok: false,
      reason: 'out-of-memory',
      message: 'needed more than 32 MB of heap',
    });
    assert.deepEqual(await own.run({ kind: 'echo', value: 'still here' }), {
      ok: true,
      value: 'echo: still here',
    });
  } finally {
    await own.close();
  }
});

void test('a job that throws fails alone; its thread serves the next job', async () => {
  assert.deepEqual(await pool.run({ kind: 'throw', message: 'bad input' }), {
    ok: false,
    reason: 'failed',
    message: 'bad input',
  });
  assert.deepEqual(await pool.run({ kind: 'echo', value: 'x' }), { ok: true, value: 'echo: x' });
});

void test('close stops a running job and refuses new ones, without hanging', async () => {
  const own = createThreadPool<TestJob, string>({ script, size: 2, deadlineMs: 60_000, maxHeapMb: 32 });
  await own.run({ kind: 'echo', value: 'start a thread' });
  const running = own.run({ kind: 'spin-forever' }); // handed to the idle thread at once
  const stopped = assert.rejects(running, /the thread pool was closed/);
  await own.close();
  await stopped;
  await assert.rejects(own.run({ kind: 'echo', value: 'late' }), /the thread pool is closed/);
});

void test('a thread script that cannot load fails the jobs waiting for it', async () => {
  const broken = createThreadPool<TestJob, string>({
    script: path.join(__dirname, 'no-such-script.ts'),
    size: 1,
    deadlineMs: 1000,
    maxHeapMb: 32,
  });
  try {
    await assert.rejects(
      broken.run({ kind: 'echo', value: 'x' }),
      /a worker thread could not start: .*no-such-script/,
    );
  } finally {
    await broken.close();
  }
});

void test('the mail classifier reads the poison HTML (<a + 1 MB of letters) in linear time, and cuts off any message over its budget', async () => {
  const config = configSchema.parse({
    smtp: { host: 'localhost' },
    imap: { host: 'localhost', fromAddress: 'c@example.test', user: 'c', password: 'p', messageBudget: '5s' },
    signature: { secrets: [randomBytes(32).toString('base64')] },
    senderAuthentication: { mode: 'off' },
  });
  const raw = (body: string) =>
    Buffer.from(
      `From: mallory@example.test\r\nTo: c@example.test\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n${body}\r\n`,
    );
  const job = (body: string): MessageToClassify => ({
    source: raw(body),
    envelope: { uidValidity: '1', uid: 1, size: 0, receivedAt: 0 },
    settings: { keys: [], whitelist: { enabled: false, domains: [] }, ownAddresses: [], now: 0 },
    senderAuthentication: config.senderAuthentication,
  });
  const poison = job(`<a${'b'.repeat(1_000_000)}`);
  const classifier = createMessageClassifier(config);
  try {
    const read = await classifier.run(poison);
    assert.ok(read.ok, 'read within the budget');
    assert.equal(read.value.classification.outcome, 'no-token');
  } finally {
    await classifier.close();
  }
  // No message of a megabyte is read in a millisecond: the deadline cuts it off, and the next
  // message gets a fresh thread.
  const hurried = createThreadPool<MessageToClassify, ClassifiedMessage>({
    script: require.resolve('../../mail/classify-thread'),
    size: 1,
    deadlineMs: 1,
    maxHeapMb: 256,
  });
  try {
    assert.deepEqual(await hurried.run(poison), {
      ok: false,
      reason: 'deadline',
      message: 'still running after 1 ms',
    });
  } finally {
    await hurried.close();
  }
});
