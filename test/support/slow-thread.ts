/** A thread script for the thread-pool tests: jobs that answer, throw, spin forever or eat memory. */
import { serveThreadJob } from '../../mail/thread-job';

export type TestJob =
  | { kind: 'echo'; value: string }
  | { kind: 'throw'; message: string }
  | { kind: 'spin-forever' }
  | { kind: 'eat-memory' };

serveThreadJob((job: TestJob): Promise<string> => {
  switch (job.kind) {
    case 'echo':
      return Promise.resolve(`echo: ${job.value}`);
    case 'throw':
      return Promise.reject(new Error(job.message));
    case 'spin-forever': {
      // Synchronous, like a runaway scanner: nothing but terminating the thread stops it.
      let n = 0;
      for (;;) n = (n + 1) % 1_000_003;
    }
    case 'eat-memory': {
      const kept: string[][] = [];
      for (;;) kept.push(Array.from({ length: 100_000 }, (_, i) => `${i}-${kept.length}`));
    }
  }
});
