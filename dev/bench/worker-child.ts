/**
 * A worker process for the benchmarks that measure a whole process (start time, RSS):
 *   product <config>           the product's worker, workflows as `npm start` runs them
 *   prebuilt <config> <bundle> the same worker given a prebuilt workflow bundle
 *   floor <config>             the plainest worker: trivial workflows and activities
 * Prints `READY <ms from process start to running>` once it polls, and runs until SIGTERM.
 */
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../config/load';
import { createWorker } from '../../worker/run-worker';
import { createFloorWorker } from './floor/worker';
import { log } from './harness';

async function main(): Promise<void> {
  const [mode, configFile, bundle] = process.argv.slice(2);
  const config = loadConfig(configFile!, {});
  let run: () => Promise<void>;
  let stop: () => void;
  if (mode === 'floor') {
    const { worker } = await createFloorWorker(config, config.temporal.taskQueue);
    run = () => worker.run();
    stop = () => worker.shutdown();
  } else {
    const handle = await createWorker(config, log, {
      workflowsPath: require.resolve('../workflows'),
      workflowBundle: mode === 'prebuilt' ? { codePath: bundle! } : undefined,
    });
    run = () => handle.run();
    stop = () => void handle.shutdown();
  }
  const running = run();
  process.stdout.write(`READY ${Math.round(performance.now())}\n`);
  process.once('SIGTERM', stop);
  await running;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`worker-child: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
