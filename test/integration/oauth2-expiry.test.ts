/**
 * Access tokens that end in the middle of a sync run: the run reads INBOX with one token, the
 * token ends, and the same run must delete what it read, and send confirmations, with another.
 * Every activity must succeed at its first attempt, and nobody gets a mail twice.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { mailtoLinks, replyFromLink } from '../../dev/mail-client';
import { createSmtpTransport } from '../../mail/smtp';
import type { CreateWorkerOptions } from '../../worker/run-worker';
import {
  clearInbox,
  COMPLETION,
  eventually,
  inboxCount,
  readMailbox,
  sendAs,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
  waitForMail,
} from '../helpers/env';
import { connectTemporal } from '../../client/connect';
import { syncAndWait } from '../helpers/sync-runs';
import { oauth2Settings, registerClient, withOAuth2 } from '../helpers/oauth2';

const ASSIGNEES = ['alice@example.test', 'carol@example.test'];
const TOKEN_TTL_S = 3;
const tokenGone = () => sleep(TOKEN_TTL_S * 1000 + 500);

type Activities = Parameters<NonNullable<CreateWorkerOptions['wrapActivities']>>[0];

const variants = [
  { name: 'tokens live 3 s, and the server says so', reportedTtl: undefined },
  { name: 'the server says an hour but ends tokens after 3 s (revoked early)', reportedTtl: 3600 },
];

describe('token expiry in the middle of a run', () => {
  for (const { name, reportedTtl } of variants) {
    test(`${name}: no failed sync, no duplicate mail`, async () => {
      const app = await registerClient({ mailbox: COMPLETION, tokenTtl: TOKEN_TTL_S, reportedTtl });
      const config = withOAuth2(testConfig(triggeredSyncsOnly), oauth2Settings(app));
      await Promise.all([COMPLETION, ...ASSIGNEES].map((a) => clearInbox(config, a)));

      // Every activity call and its attempt; removeMail waits until the token fetchMailBatch used
      // has ended, so the run's delete needs a new one.
      const calls: { activity: string; attempt: number }[] = [];
      const wrapActivities = (activities: Activities): Activities => {
        const wrapped = { ...activities };
        for (const [key, activity] of Object.entries(activities) as [
          keyof Activities,
          (...args: unknown[]) => Promise<unknown>,
        ][]) {
          (wrapped as Record<string, unknown>)[key] = async (...args: unknown[]) => {
            calls.push({ activity: key, attempt: Context.current().info.attempt });
            if (key === 'removeMail') await tokenGone();
            return activity(...args);
          };
        }
        return wrapped;
      };
      const log = testLogger(`oauth2-expiry-${reportedTtl ? 'early' : 'short'}`);
      const worker = await startWorker(config, log, { wrapActivities });
      const { client, connection } = await connectTemporal(config.temporal);
      try {
        const tasks = await taskClient(config);
        const taskIds = await Promise.all(
          ASSIGNEES.map(async (assignee) => {
            const taskId = unique('expiry');
            await tasks.start({ taskId, title: `Expiry ${taskId}`, assignees: assignee });
            return taskId;
          }),
        );
        // Requests sent with a token; replies wait in INBOX while that token ends.
        await Promise.all(
          ASSIGNEES.map(async (assignee, i) => {
            const [request] = await waitForMail(config, assignee, (m) =>
              (m.text ?? '').includes(taskIds[i]!),
            );
            await sendAs(
              config,
              assignee,
              replyFromLink(mailtoLinks(request!.parsed.html || '')[0]!, 'ok\n'),
            );
          }),
        );
        await eventually('both replies in INBOX', async () => (await inboxCount(config, COMPLETION)) === 2);
        await tokenGone();

        const summary = await syncAndWait(client, config.temporal.taskQueue);
        assert.deepEqual(
          summary.outcomes.map((o) => o.code),
          ['signalled', 'signalled'],
        );
        for (const taskId of taskIds)
          assert.equal((await tasks.waitForResult(taskId, 30_000)).outcome, 'completed');
        assert.equal(await inboxCount(config, COMPLETION), 0, 'the run deleted what it read');

        // Each assignee: one request and one confirmation, nothing twice.
        for (const [i, assignee] of ASSIGNEES.entries()) {
          await waitForMail(config, assignee, (m) => (m.text ?? '').includes(taskIds[i]!), { count: 2 });
          const mail = (await readMailbox(config, assignee)).filter((m) =>
            (m.parsed.text ?? '').includes(taskIds[i]!),
          );
          assert.equal(mail.length, 2, `${assignee}: request and confirmation, once each`);
        }
        assert.ok(calls.some((c) => c.activity === 'removeMail'));
        assert.deepEqual(
          calls.filter((c) => c.attempt !== 1),
          [],
          'every activity succeeded at its first attempt',
        );

        // A new SMTP connection after the token ended: XOAUTH2 with a new token.
        await tokenGone();
        const subject = unique('after expiry');
        const transport = createSmtpTransport(config.smtp, log);
        try {
          await transport.sendMail({ from: COMPLETION, to: ASSIGNEES[0], subject, text: 'new token' });
        } finally {
          transport.close();
        }
        await waitForMail(config, ASSIGNEES[0]!, (m) => m.subject === subject);
      } finally {
        await worker.shutdown();
        await connection.close();
      }
    });
  }
});
