/**
 * The app's client secret is revoked while the worker runs: the worker says so clearly, keeps
 * retrying with backoff (the sync's activity retries and schedule, the IDLE watcher's reconnects)
 * and recovers by itself once the secret is valid again; the reply waiting meanwhile decides its task.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { runChecks } from '../../cli/config-check';
import {
  clearInbox,
  COMPLETION,
  eventually,
  inboxCount,
  logLines,
  stackDir,
  startAndComplete,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
} from '../helpers/env';
import { oauth2Settings, registerClient, withOAuth2 } from '../helpers/oauth2';

const TOKEN_TTL_S = 3;
const LOG = 'oauth2-revoked';

const messages = (fields: Record<string, unknown>) => logLines(LOG, fields).map((l) => String(l.msg));

test('a revoked client secret: a clear log line, retries with backoff, recovery once it is valid again', async (t) => {
  const app = await registerClient({ mailbox: COMPLETION, tokenTtl: TOKEN_TTL_S });
  const config = withOAuth2(
    testConfig((c) => {
      c.imap.idle = true;
      c.remoteCompletion.syncInterval = 3_000;
      c.remoteCompletion.startupDelay = 1_000;
    }),
    oauth2Settings(app),
  );
  await clearInbox(config, COMPLETION);
  const log = testLogger(LOG);
  const worker = await startWorker(config, log);
  try {
    const tasks = await taskClient(config);
    const before = await startAndComplete(config, tasks, 'Before the revocation', 'fine');
    assert.equal((await tasks.waitForResult(before, 30_000)).outcome, 'completed');

    // Revoked: the configured secret is not the app's any more; the tokens issued with it end soon.
    await app.setSecret(randomBytes(24).toString('base64url'));
    await sleep(TOKEN_TTL_S * 1000 + 500);
    // The IDLE session logged in earlier stays up; the server drops it, so the watcher needs a token.
    await promisify(execFile)('doveadm', [
      '-c',
      path.join(stackDir, 'dovecot', 'dovecot.conf'),
      'kick',
      COMPLETION,
    ]);
    const during = await startAndComplete(config, tasks, 'During the revocation', 'waits');
    await eventually('the reply in INBOX', async () => (await inboxCount(config, COMPLETION)) === 1);

    // The sync's activity says what is wrong and what to do.
    const clear = await eventually(
      'the mailbox activity to log the refused client',
      () =>
        Promise.resolve(messages({ module: 'mailbox', level: 50 }).find((m) => m.includes('invalid_client'))),
      60_000,
    );
    assert.match(
      clear,
      new RegExp(
        `^no OAuth2 token for IMAP: OAuth2 token request for client ${app.clientId} at \\S+ refused: invalid_client \\(the client id or secret is wrong, expired or revoked\\).*; fix: set imap\\.auth\\.clientId and a current imap\\.auth\\.clientSecret`,
      ),
    );
    t.diagnostic(`worker log: ${clear}`);
    // The IDLE watcher fails the same way and backs off further each time.
    await eventually(
      'the IDLE watcher to back off',
      () =>
        Promise.resolve(
          logLines(LOG, { module: 'idle', msg: 'IMAP IDLE reconnecting' }).some(
            (l) => Number(l.retryInMs) >= 4_000,
          ),
        ),
      60_000,
    );
    assert.ok(
      logLines(LOG, { module: 'idle', msg: 'IMAP IDLE session failed' }).some((l) =>
        String(l.err).includes('invalid_client'),
      ),
    );
    // `check` names the step and the fix.
    const [token] = (await runChecks(config, { log })).filter((r) => r.name === 'oauth2');
    assert.equal(token?.ok, false);
    assert.match(token?.detail ?? '', /refused: invalid_client/);
    assert.equal(await tasks.getState(during).then((s) => s.result), undefined, 'nothing decided meanwhile');

    // Fixed: the secret is the app's again. The worker recovers without a restart.
    await app.setSecret(app.clientSecret);
    const result = await tasks.waitForResult(during, 120_000);
    assert.deepEqual([result.outcome, result.comment], ['completed', 'waits']);
    await eventually(
      'the IDLE watcher back on INBOX',
      () =>
        Promise.resolve(logLines(LOG, { module: 'idle', msg: 'watching INBOX with IMAP IDLE' }).length >= 2),
      120_000,
    );
  } finally {
    await worker.shutdown();
  }
});
