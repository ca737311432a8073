/**
 * The worker process at rest: how long it takes to start (process start to polling), against the
 * same worker handed a prebuilt bundle; and its RSS with no task, fresh, against the plainest
 * worker (trivial workflows and activities) on the same server. Each in a process of its own.
 * Run: node --import tsx dev/bench/worker-process.ts [--quick]
 */
import { cachedBundle } from '../../worker/workflow-bundle';
import { benchStack, log, median, repeats, report, rssMb, runBench, spawnWorker, spread } from './harness';

/** Lets start-up garbage settle before RSS is read. */
const SETTLE_MS = 5_000;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

runBench(async () => {
  const bench = await benchStack();
  const { codePath } = await cachedBundle(require.resolve('../workflows'), log);
  const starts: number[] = [];
  const prebuiltStarts: number[] = [];
  const rss: number[] = [];
  const floorRss: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const ours = await spawnWorker(
      'product',
      bench.config('start-product', (c) => (c.imap.idle = true)),
    );
    starts.push(ours.readyMs);
    await settle();
    rss.push(rssMb(ours.pid));
    await ours.stop();
    const prebuilt = await spawnWorker(
      'prebuilt',
      bench.config('start-prebuilt', (c) => (c.imap.idle = true)),
      codePath,
    );
    prebuiltStarts.push(prebuilt.readyMs);
    await prebuilt.stop();
    const floor = await spawnWorker('floor', bench.config('rss-floor'));
    await settle();
    floorRss.push(rssMb(floor.pid));
    await floor.stop();
  }
  report({
    figure: 'worker start (process start to polling, bundle saved by an earlier start)',
    ours: median(starts),
    floor: median(prebuiltStarts),
    floorWhat: 'the same worker given a prebuilt bundle',
    unit: 'ms',
    detail: `${repeats} repeats; ours ${spread(starts, 'ms')}`,
  });
  report({
    figure: 'worker RSS, 0 tasks, fresh',
    ours: median(rss),
    floor: median(floorRss),
    floorWhat: 'a trivial worker on the same server',
    unit: 'MB',
    detail: `${repeats} repeats, read ${SETTLE_MS / 1000} s after start; ours ${spread(rss, 'MB')}`,
  });
});
