import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { createMessageClassifier } from '../activities/mailbox';
import { createSmtpTransport } from '../mail/smtp';
import { connectTemporal, temporalConnectionOptions } from '../client/connect';
import { createActivities } from './activities';
import { watchInbox, type IdleWatcher } from './idle-watcher';
import { ensureSearchAttributes } from './search-attributes';
import { ensureSyncSchedule, triggerSync } from './sync-schedule';
import { PinoTemporalLogger } from './temporal-logger';
import { prebuiltBundle } from './workflow-bundle';

let runtimeInstalled = false;

/**
 * Routes the SDK's logs into pino and, when configured, serves its Prometheus metrics; allowed
 * once per process, before any connection.
 */
function installRuntime(log: Logger, prometheus?: string): void {
  if (runtimeInstalled) return;
  Runtime.install({
    logger: new PinoTemporalLogger(log.child({ module: 'temporal' })),
    telemetryOptions: prometheus ? { metrics: { prometheus: { bindAddress: prometheus } } } : undefined,
  });
  if (prometheus) log.info({ address: `http://${prometheus}/metrics` }, 'serving Prometheus metrics');
  runtimeInstalled = true;
}

export interface WorkerHandle {
  worker: Worker;
  /** Resolves when the worker has stopped (after shutdown(), a signal, or a fatal error). */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface CreateWorkerOptions {
  /** A prebuilt bundle (tests); default: `npm run build`'s, else the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The workflows to bundle at start when there is no bundle; default: the product's (`workflows/`). */
  workflowsPath?: string;
  /** Replaces or wraps activities (fault-injection tests). */
  wrapActivities?: (activities: Activities) => Activities;
}

type Activities = ReturnType<typeof createActivities>;

/**
 * A worker for both workflows that also keeps the mailbox-sync schedule in line with the config
 * and, with `imap.idle`, triggers a sync as soon as mail lands.
 */
export async function createWorker(
  config: Config,
  log: Logger,
  options: CreateWorkerOptions = {},
): Promise<WorkerHandle> {
  installRuntime(log, config.metrics.prometheus);
  if (config.senderAuthentication.mode === 'off')
    log.warn(
      { senderAuthentication: 'off' },
      "sender authentication is off: anyone who holds a reply link can send it with the assignee's From; set senderAuthentication.mode to verify or authentication-results",
    );
  const { client, connection: clientConnection } = await connectTemporal(config.temporal);
  await ensureSearchAttributes(clientConnection, config.temporal.namespace, log);
  await ensureSyncSchedule(client, config, log);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const transport = createSmtpTransport(config.smtp, log, { mailDebug: config.log.mailDebug });
  const classifier = createMessageClassifier(config);
  const bundle = options.workflowBundle ?? prebuiltBundle();
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(bundle
      ? { workflowBundle: bundle }
      : { workflowsPath: options.workflowsPath ?? require.resolve('../workflows') }),
    activities: (options.wrapActivities ?? ((a) => a))(
      createActivities({ config, transport, log, classifier }),
    ),
    shutdownGraceTime: '10s',
  });
  let watcher: IdleWatcher | undefined;
  let running: Promise<void> | undefined;
  return {
    worker,
    run() {
      if (config.imap.idle) {
        watcher = watchInbox(config, log.child({ module: 'idle' }), () =>
          triggerSync(client, config.temporal.taskQueue),
        );
      }
      running ??= worker.run().finally(async () => {
        await watcher?.stop();
        await classifier.close();
        transport.close();
        await connection.close();
        await clientConnection.close();
      });
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
