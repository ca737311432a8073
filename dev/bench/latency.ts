/**
 * Reply latency with IMAP IDLE on: from the reply accepted by SMTP to its task closed. Floor, on
 * the same replies: from the same moment until a plain IMAP IDLE client on the completion mailbox
 * is told of the new message (`exists`). Everything between the two is ours: trigger, sync run,
 * IMAP session, classification, signal, the task closing.
 * Run: node --import tsx dev/bench/latency.ts [--quick]
 */
import { connectTemporal } from '../../client/connect';
import { RemoteCompletionClient } from '../../client/task-client';
import { createWorker } from '../../worker/run-worker';
import { replyFromLink } from '../mail-client';
import {
  ALICE,
  benchStack,
  clearMailbox,
  completeLinks,
  COMPLETION,
  imapAs,
  log,
  median,
  quick,
  report,
  runBench,
  smtpAs,
  spread,
  waitForInbox,
} from './harness';

const REPLIES = quick ? 5 : 20;

runBench(async () => {
  const bench = await benchStack();
  const alice = bench.account(ALICE);
  const config = bench.config('latency', (c) => (c.imap.idle = true));
  await clearMailbox(config, alice);
  await clearMailbox(config, bench.account(COMPLETION));
  const worker = await createWorker(config, log);
  const running = worker.run();
  const { client, connection } = await connectTemporal(config.temporal);
  const tasks = new RemoteCompletionClient(client, config.temporal.taskQueue);
  const watcher = imapAs(config, bench.account(COMPLETION));
  const smtp = smtpAs(config, alice);
  const ours: number[] = [];
  const floor: number[] = [];
  try {
    const taskIds = Array.from({ length: REPLIES }, (_, i) => `bench-latency-${i}-${Date.now()}`);
    for (const taskId of taskIds) await tasks.start({ taskId, title: 'Latency', assignees: ALICE });
    await waitForInbox(config, alice, REPLIES, 60_000);
    const links = await completeLinks(config, alice, taskIds);
    await watcher.connect();
    await watcher.mailboxOpen('INBOX', { readOnly: true });
    void watcher.idle();
    for (const taskId of taskIds) {
      // The last run's removal must not share Dovecot's notification delay with this reply.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const seen = new Promise<void>((resolve) => {
        const onExists = (event: { count: number; prevCount: number }) => {
          if (event.count <= event.prevCount) return; // mail removed by the sync
          watcher.off('exists', onExists);
          resolve();
        };
        watcher.on('exists', onExists);
      });
      await smtp.sendAs(replyFromLink(links.get(taskId)!, 'latency\n'));
      const sent = Date.now();
      const closed = tasks.waitForResult(taskId, 60_000).then(() => Date.now() - sent);
      floor.push((await seen, Date.now() - sent));
      ours.push(await closed);
    }
  } finally {
    smtp.close();
    await watcher.logout().catch(() => undefined);
    await connection.close();
    await worker.shutdown();
    await running;
  }
  report({
    figure: `reply accepted by SMTP -> task closed (IDLE on), ${REPLIES} replies, p50`,
    ours: median(ours),
    floor: median(floor),
    floorWhat: 'SMTP accept -> an IDLE client sees exists',
    unit: 'ms',
    detail: `max ${Math.max(...ours)} ms; floor ${spread(floor, 'ms')}`,
  });
});
