/**
 * Reply-to-decision latency: IMAP IDLE push against polling (the XL Release way), measured in the
 * same run on a local stack of its own (.stack/bench). Polling runs every 5 s here (XL's default
 * is 30 s), so the ratio understates the gain at defaults.
 * Run: node --import tsx bench/reply-latency.ts [replies per mode, default 5]
 */
import path from 'node:path';
import { loadConfig } from '../../config/load';
import type { Config } from '../../config/schema';
import { connectTemporal } from '../../client/connect';
import { RemoteCompletionClient } from '../../client/task-client';
import { repoRoot, stackDown, stackUp, type StackAccount } from '../stack';
import { createLogger } from '../../worker/logger';
import { createWorker } from '../../worker/run-worker';
import { syncScheduleId } from '../../worker/sync-schedule';
import { fetchRequest, mailtoLinks, replyFromLink, sendAs } from '../mail-client';

const log = createLogger({ level: 'warn', stream: 'stderr' });

async function measure(config: Config, alice: StackAccount, replies: number): Promise<number[]> {
  const worker = await createWorker(config, log);
  void worker.run();
  const { client, connection } = await connectTemporal(config.temporal);
  const tasks = new RemoteCompletionClient(client, config.temporal.taskQueue);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < replies; i++) {
      const { taskId } = await tasks.start({ title: `Bench ${i}`, assignees: alice.address });
      const request = await fetchRequest(config, alice, taskId);
      await sendAs(config, alice, replyFromLink(mailtoLinks(request.html)[0]!, 'bench\n'));
      const sent = Date.now();
      await tasks.waitForResult(taskId, 120_000);
      latencies.push(Date.now() - sent);
    }
  } finally {
    await client.schedule.getHandle(syncScheduleId(config.temporal.taskQueue)).delete();
    await connection.close();
    await worker.shutdown();
  }
  return latencies;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const replies = Number(process.argv[2] ?? 5);
  const dir = path.join(repoRoot(), '.stack', 'bench');
  const stack = await stackUp({ dir, log });
  const alice = stack.accounts.find((a) => a.address === 'alice@example.test')!;
  try {
    const variant = (idle: boolean, syncInterval: number): Config => {
      const config = loadConfig(stack.configFile, {});
      config.temporal.taskQueue = `bench-${idle ? 'idle' : 'poll'}-${Date.now()}`;
      config.imap.idle = idle;
      config.remoteCompletion.syncInterval = syncInterval;
      config.remoteCompletion.startupDelay = 0;
      return config;
    };
    const poll = await measure(variant(false, 5_000), alice, replies);
    const idle = await measure(variant(true, 3_600_000), alice, replies);
    process.stdout.write(
      `replies per mode: ${replies}\n` +
        `baseline  polling every 5 s:  median ${median(poll)} ms  (${poll.join(', ')})\n` +
        `ours      IMAP IDLE push:     median ${median(idle)} ms  (${idle.join(', ')})\n` +
        `ratio     polling / IDLE:     ${(median(poll) / median(idle)).toFixed(1)}x faster with IDLE\n`,
    );
  } finally {
    await stackDown({ dir, log });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
