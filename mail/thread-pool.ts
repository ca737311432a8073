import { Worker } from 'node:worker_threads';
import type { JobRequest, ThreadMessage } from './thread-job';

export interface ThreadPoolOptions {
  /** The thread's script, `serveThreadJob(job)`: a `.ts` file in development, `.js` once built. */
  script: string;
  /** Threads, started at once and replaced when one is stopped, so that jobs never wait for one to load. */
  size: number;
  /** A job still running this long after it started is stopped with its thread. */
  deadlineMs: number;
  /** V8 heap per thread: a job that needs more is stopped with its thread. */
  maxHeapMb: number;
}

export type JobOutcome<O> =
  | { ok: true; value: O }
  /** Over budget: the thread was stopped and replaced. */
  | { ok: false; reason: 'deadline' | 'out-of-memory'; message: string }
  /** The job threw, or its thread died otherwise. */
  | { ok: false; reason: 'failed'; message: string };

/**
 * Runs an async job in worker threads, each job under a deadline and a heap cap that the caller's
 * event loop does not share: a job over budget cannot stall the caller (its heartbeats, its other
 * jobs), it only loses its thread. `run` rejects only when the pool is closed or a thread cannot
 * start at all.
 */
export interface ThreadPool<I, O> {
  readonly size: number;
  run(input: I): Promise<JobOutcome<O>>;
  /** Stops every thread; jobs waiting or running reject. */
  close(): Promise<void>;
}

interface Job<I, O> {
  input: I;
  settle(outcome: JobOutcome<O>): void;
  fail(error: Error): void;
}

interface PoolThread<I, O> {
  worker: Worker;
  ready: boolean;
  /** Being terminated: takes no more jobs. */
  stopping?: boolean;
  current?: { id: number; job: Job<I, O>; timer: NodeJS.Timeout; expired: boolean };
  lastError?: Error;
}

export function createThreadPool<I, O>(options: ThreadPoolOptions): ThreadPool<I, O> {
  const queue: Job<I, O>[] = [];
  const threads = new Set<PoolThread<I, O>>();
  let nextId = 0;
  let closed = false;

  const start = (): void => {
    const thread: PoolThread<I, O> = { worker: spawn(options), ready: false };
    threads.add(thread);
    if (queue.length === 0) thread.worker.unref();
    thread.worker.on('message', (message: ThreadMessage<O>) => {
      if (message.kind === 'ready') {
        thread.ready = true;
        return dispatch();
      }
      const current = thread.current;
      if (current?.id !== message.id) return;
      clearTimeout(current.timer);
      thread.current = undefined;
      current.job.settle(
        message.kind === 'done'
          ? { ok: true, value: message.value }
          : { ok: false, reason: 'failed', message: message.message },
      );
      dispatch();
    });
    thread.worker.on('error', (err) => (thread.lastError = err));
    thread.worker.on('exit', () => {
      threads.delete(thread);
      const current = thread.current;
      if (current) {
        clearTimeout(current.timer);
        if (closed) current.job.fail(new Error('the thread pool was closed'));
        else current.job.settle(overBudget(current.expired, thread.lastError, options));
      } else if (!thread.ready && !closed) {
        // A thread that cannot start would fail each replacement the same way: no replacement.
        const error = new Error(
          `a worker thread could not start: ${thread.lastError?.message ?? 'it exited'}`,
        );
        for (const job of queue.splice(0)) job.fail(error);
        return;
      }
      // The replacement loads now, so that the next job does not wait for it.
      if (!closed) start();
      dispatch();
    });
  };

  const dispatch = (): void => {
    if (closed) return;
    for (const thread of threads) {
      if (!thread.ready || thread.stopping || thread.current) continue;
      const job = queue.shift();
      if (!job) break;
      const id = nextId++;
      const current = {
        id,
        job,
        expired: false,
        timer: setTimeout(() => {
          current.expired = true;
          thread.stopping = true;
          void thread.worker.terminate();
        }, options.deadlineMs),
      };
      thread.current = current;
      thread.worker.postMessage({ id, input: job.input } satisfies JobRequest<I>);
    }
    // Only a thread with a job, or loading while jobs wait, keeps the process alive.
    for (const thread of threads) {
      if (thread.current || (!thread.ready && queue.length > 0)) thread.worker.ref();
      else thread.worker.unref();
    }
    // After a failed start the pool is short of threads: try again for the jobs now waiting.
    for (let n = Math.min(queue.length, options.size - threads.size); n > 0; n--) start();
  };

  for (let n = 0; n < options.size; n++) start();

  return {
    size: options.size,
    run(input) {
      if (closed) return Promise.reject(new Error('the thread pool is closed'));
      return new Promise<JobOutcome<O>>((settle, fail) => {
        queue.push({ input, settle, fail });
        dispatch();
      });
    },
    async close() {
      closed = true;
      const error = new Error('the thread pool was closed');
      for (const job of queue.splice(0)) job.fail(error);
      await Promise.all([...threads].map((t) => t.worker.terminate()));
    },
  };
}

function spawn({ script, maxHeapMb }: ThreadPoolOptions): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: maxHeapMb };
  if (!script.endsWith('.ts')) return new Worker(script, { resourceLimits });
  // Development runs the sources through tsx, which each thread must load for itself.
  const load = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(script)});`;
  return new Worker(load, { eval: true, resourceLimits });
}

function overBudget<O>(
  expired: boolean,
  error: Error | undefined,
  options: ThreadPoolOptions,
): JobOutcome<O> {
  if (expired)
    return { ok: false, reason: 'deadline', message: `still running after ${options.deadlineMs} ms` };
  if (error && 'code' in error && error.code === 'ERR_WORKER_OUT_OF_MEMORY')
    return {
      ok: false,
      reason: 'out-of-memory',
      message: `needed more than ${options.maxHeapMb} MB of heap`,
    };
  return { ok: false, reason: 'failed', message: `its thread stopped: ${error?.message ?? 'it exited'}` };
}
