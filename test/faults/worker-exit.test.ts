import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { EXIT_FORCED } from '../../worker/exit-guard';
import { SHUTDOWN_GRACE_MS } from '../../worker/run-worker';
import {
  logDir,
  stackDir,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  writeConfigFile,
} from '../helpers/env';
import { startDaemons, stopDaemon } from '../support/stack-faults';
import { SupervisedWorker } from '../support/supervised-worker';

// The promise, so a bound on time is the point of this test: SIGTERM to exit within the
// grace time plus 5 s.
const EXIT_BOUND_MS = SHUTDOWN_GRACE_MS + 5_000;

test('a worker whose Temporal, IMAP and SMTP are all gone exits on SIGTERM, by itself', async (t) => {
  const config = testConfig((c) => {
    triggeredSyncsOnly(c);
    c.imap.idle = true;
  });
  const log = testLogger('worker-exit');
  const logFile = path.join(logDir, 'worker-exit-worker.log');
  const worker = new SupervisedWorker(writeConfigFile(config), logFile);
  try {
    await worker.start();
    await worker.nextLine((l) => l.includes('"msg":"watching INBOX with IMAP IDLE"'), 30_000);
    await Promise.all([
      stopDaemon(stackDir, 'temporal'),
      stopDaemon(stackDir, 'dovecot'),
      stopDaemon(stackDir, 'postfix'),
    ]);
    // Wait until the IDLE watcher sleeps a long backoff: the timer that used to keep the process alive.
    await worker.nextLine((l) => /"retryInMs":(16000|32000|60000)\b/.test(l), 60_000);
    const exit = await worker.stop();
    t.diagnostic(`exited ${exit?.ms} ms after SIGTERM (code ${exit?.code}, signal ${exit?.signal})`);
    assert.ok(exit, 'the worker was running');
    assert.notEqual(exit.code, EXIT_FORCED, 'the process ended by itself, not by the last-resort exit');
    assert.equal(exit.code, 0, `exit code 0; see ${logFile}`);
    assert.ok(exit.ms <= EXIT_BOUND_MS, `exited within ${EXIT_BOUND_MS} ms of SIGTERM, took ${exit.ms} ms`);
  } finally {
    await worker.stop();
    await startDaemons(stackDir, log);
  }
});
