import { parentPort } from 'node:worker_threads';

/** Pool to thread: run the job on `input`. */
export interface JobRequest<I> {
  id: number;
  input: I;
}

/** Thread to pool: `ready` once the job's module has loaded, then one reply per request. */
export type ThreadMessage<O> =
  | { kind: 'ready' }
  | { kind: 'done'; id: number; value: O }
  | { kind: 'failed'; id: number; message: string };

/**
 * The body of a pool thread's script: runs `job` for each request, one at a time (the pool never
 * sends a second request before the first is answered). A thread script is one line:
 * `serveThreadJob(myJob)`.
 */
export function serveThreadJob<I, O>(job: (input: I) => Promise<O>): void {
  const port = parentPort;
  if (!port) throw new Error('serveThreadJob runs inside a worker thread of a ThreadPool');
  const reply = (message: ThreadMessage<O>): void => port.postMessage(message);
  port.on('message', ({ id, input }: JobRequest<I>) => {
    job(input).then(
      (value) => reply({ kind: 'done', id, value }),
      (err: unknown) =>
        reply({ kind: 'failed', id, message: err instanceof Error ? err.message : String(err) }),
    );
  });
  reply({ kind: 'ready' });
}
