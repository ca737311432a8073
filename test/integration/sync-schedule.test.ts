import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { connectTemporal } from '../../client/connect';
import { ensureSyncSchedule, syncScheduleId, triggerSync } from '../../worker/sync-schedule';
import {
  account,
  COMPLETION,
  endRunningSyncs,
  eventually,
  logLines,
  stackDir,
  startWorker,
  testConfig,
  testLogger,
} from '../helpers/env';

test('the worker creates one sync schedule and reconciles it when the config changes', async () => {
  const config = testConfig((c) => {
    c.remoteCompletion.syncInterval = 30_000;
    c.remoteCompletion.startupDelay = 60_000;
  });
  const log = testLogger('sync-schedule');
  const { client, connection } = await connectTemporal(config.temporal);
  const id = syncScheduleId(config.temporal.taskQueue);
  try {
    const before = Date.now();
    await ensureSyncSchedule(client, config, log);
    let description = await client.schedule.getHandle(id).describe();
    assert.equal(description.spec.intervals?.[0]?.every, 30_000);
    assert.equal(description.policies.overlap, ScheduleOverlapPolicy.BUFFER_ONE);
    assert.ok(description.spec.startAt!.getTime() >= before + 59_000, 'first run after the startup delay');
    assert.equal(description.action.type, 'startWorkflow');
    assert.ok(
      description.action.type === 'startWorkflow' && description.action.workflowExecutionTimeout,
      'a run has a bounded time',
    );

    const firstRunAt = description.spec.startAt!.getTime();
    await client.schedule.getHandle(id).pause('operator pause');
    config.remoteCompletion.syncInterval = 10_000;
    await ensureSyncSchedule(client, config, log);
    description = await client.schedule.getHandle(id).describe();
    assert.equal(description.spec.intervals?.[0]?.every, 10_000, 'the interval follows the config');
    assert.equal(description.state.paused, true, "an operator's pause survives a worker start");
    assert.equal(description.spec.startAt!.getTime(), firstRunAt, 'the startup delay is not applied again');
    const matching = [];
    for await (const schedule of client.schedule.list())
      if (schedule.scheduleId === id) matching.push(schedule);
    assert.equal(matching.length, 1, 'never a second schedule');
  } finally {
    await client.schedule.getHandle(id).delete();
    await connection.close();
  }
});

test('a wrong IMAP password is reported as such, without the password', async () => {
  const config = testConfig((c) => {
    c.imap.password = 'definitely-not-the-password';
    c.imap.idle = false;
    c.remoteCompletion.startupDelay = 3_600_000;
  });
  const worker = await startWorker(config, testLogger('sync-wrong-password'));
  const { client, connection } = await connectTemporal(config.temporal);
  try {
    await triggerSync(client, config.temporal.taskQueue);
    const [line] = await eventually('the login failure in the log', () => {
      const lines = logLines('sync-wrong-password', { kind: 'authentication' });
      return Promise.resolve(lines.length > 0 && lines);
    });
    assert.match(
      String(line!.msg),
      /IMAP login as completion@example\.test at 127\.0\.0\.1:\d+ failed: wrong imap\.user or imap\.password/,
    );
    assert.doesNotMatch(JSON.stringify(line), /definitely-not-the-password/);
    assert.ok(!JSON.stringify(line).includes(account('completion@example.test').password));
  } finally {
    await endRunningSyncs(client, config, 'test over');
    await worker.shutdown();
    await connection.close();
  }
});

test('while IMAP IDLE is connected the safety-net sync runs every idleSyncInterval, else every syncInterval', async () => {
  const config = testConfig((c) => {
    c.remoteCompletion.syncInterval = 30_000;
    c.remoteCompletion.idleSyncInterval = 300_000;
    c.remoteCompletion.startupDelay = 3_600_000;
    c.imap.idle = true;
  });
  const name = 'sync-schedule-idle';
  const { client, connection } = await connectTemporal(config.temporal);
  const schedule = client.schedule.getHandle(syncScheduleId(config.temporal.taskQueue));
  const every = async () => (await schedule.describe()).spec.intervals?.[0]?.every;
  const switches = (idle: string) =>
    logLines(name, { msg: 'mailbox sync schedule follows IMAP IDLE', idle }).length;
  const worker = await startWorker(config, testLogger(name));
  try {
    await eventually('the schedule to follow the IDLE session', async () => (await every()) === 300_000);

    // The server drops the session: polling falls back to syncInterval until IDLE is back.
    await promisify(execFile)('doveadm', [
      '-c',
      path.join(stackDir, 'dovecot', 'dovecot.conf'),
      'kick',
      COMPLETION,
    ]);
    await eventually('the fallback to syncInterval', () => Promise.resolve(switches('down') >= 1));
    await eventually('IDLE back, and the longer interval with it', async () =>
      switches('connected') >= 2 && (await every()) === 300_000 ? true : undefined,
    );
  } finally {
    await worker.shutdown();
    await schedule.delete();
    await connection.close();
  }
});
