/**
 * A worker process that dies (SIGKILL) the moment the mailbox sync tries to remove processed
 * mail: the crash between "signalled" and "deleted" that the sync must survive.
 * Usage: node --import tsx test/support/crashing-worker.ts <config.yaml> <log file>
 */
import { loadConfig } from '../../config/load';
import { createLogger } from '../../worker/logger';
import { createWorker } from '../../worker/run-worker';

async function main(): Promise<void> {
  const [configFile, logFile] = process.argv.slice(2);
  const config = loadConfig(configFile!, {});
  const bundle = process.env.REMOTE_COMPLETION_TEST_BUNDLE;
  const handle = await createWorker(config, createLogger({ level: 'debug', file: logFile }), {
    workflowBundle: bundle ? { codePath: bundle } : undefined,
    wrapActivities: (activities) => ({
      ...activities,
      // eslint-disable-next-line @typescript-eslint/require-await
      removeMail: async () => {
        process.kill(process.pid, 'SIGKILL');
        return { removed: 0 };
      },
    }),
  });
  process.stdout.write('worker running\n');
  await handle.run();
}

void main();
