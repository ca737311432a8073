import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { createMessageClassifier, type MessageClassifier } from '../activities/mailbox';
import { createSmtpTransport } from '../mail/smtp';
import { connectTemporal, temporalConnectionOptions } from '../client/connect';
import { createActivities } from './activities';
import { watchInbox, type IdleWatcher } from './idle-watcher';
import { ensureSearchAttributes } from './search-attributes';
import { ensureSyncSchedule, followIdleConnection, triggerSync } from './sync-schedule';
import { PinoTemporalLogger } from './temporal-logger';
import { cachedBundle, prebuiltBundle } from './workflow-bundle';

let runtimeInstalled = false;

/** How long in-flight activities may finish after a shutdown request before they are cancelled. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** After the grace time, how long cancelled activities get before the worker stops without them. */
const SHUTDOWN_FORCE_AFTER_GRACE_MS = 2_000;

/**
 * Routes the SDK's logs into pino and, when configured, serves its Prometheus metrics; allowed
 * once per process, before any connection.
 */
export function installRuntime(log: Logger, prometheus?: string): void {
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
  /**
   * A prebuilt bundle (tests); default: `npm run build`'s, else the one saved for the current code
   * by an earlier start, else the workflows are bundled now (and saved).
   */
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
  let connection: NativeConnection | undefined;
  let transport: Transporter | undefined;
  let classifier: MessageClassifier | undefined;
  let worker: Worker;
  try {
    await ensureSearchAttributes(clientConnection, config.temporal.namespace, log);
    await ensureSyncSchedule(client, config, log);
    connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
    transport = createSmtpTransport(config.smtp, log, { mailDebug: config.log.mailDebug });
    classifier = createMessageClassifier(config);
    const bundle =
      options.workflowBundle ??
      prebuiltBundle() ??
      (await cachedBundle(options.workflowsPath ?? require.resolve('../workflows'), log));
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflowBundle: bundle,
      activities: (options.wrapActivities ?? ((a) => a))(
        createActivities({ config, transport, log, classifier }),
      ),
      maxCachedWorkflows: config.temporal.maxCachedWorkflows,
      shutdownGraceTime: SHUTDOWN_GRACE_MS,
      // Activities ignore cancellation while an IMAP or SMTP timeout runs: do not wait for them.
      shutdownForceTime: SHUTDOWN_GRACE_MS + SHUTDOWN_FORCE_AFTER_GRACE_MS,
    });
  } catch (err) {
    // A failed start must not leave connections that keep the process alive.
    transport?.close();
    await Promise.allSettled([classifier?.close(), connection?.close(), clientConnection.close()]);
    throw err;
  }
  const nativeConnection = connection;
  const smtp = transport;
  const threads = classifier;
  let watcher: IdleWatcher | undefined;
  let running: Promise<void> | undefined;
  return {
    worker,
    run() {
      if (config.imap.idle) {
        watcher = watchInbox(
          config,
          log.child({ module: 'idle' }),
          () => triggerSync(client, config.temporal.taskQueue),
          followIdleConnection(client, config, log),
        );
      }
      running ??= worker.run().finally(async () => {
        // Each one whatever happens to the others: anything left open keeps the process alive.
        const closed = await Promise.allSettled([
          watcher?.stop(),
          threads.close(),
          Promise.resolve().then(() => smtp.close()),
          nativeConnection.close(),
          clientConnection.close(),
        ]);
        for (const result of closed) {
          if (result.status === 'rejected')
            log.warn({ err: (result.reason as Error).message }, 'closing after the worker stopped failed');
        }
      });
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
