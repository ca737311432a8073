import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { repoRoot } from '../../dev/stack';

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal (or stop request) to the process being gone. */
  ms: number;
}

interface LineWaiter {
  match: (line: string) => boolean;
  resolve: (line: string) => void;
}

/**
 * The production worker (`remote-completion worker`, from `npm run build`) as a real child
 * process, restarted whenever it ends, as systemd's Restart=always would: the process the fault
 * suite kills. Its output goes to `logFile`; tests can wait for a line of it.
 */
export class SupervisedWorker {
  /** Processes started so far, the first one included. */
  starts = 0;
  private child: ChildProcess | undefined;
  private running = false;
  private supervising = true;
  private waiters: LineWaiter[] = [];
  private exited: Promise<WorkerExit> | undefined;
  /** Grows while processes end without ever running (a daemon is down), as a supervisor backs off. */
  private restartDelayMs: number;

  constructor(
    private readonly configFile: string,
    private readonly logFile: string,
    private readonly minRestartDelayMs = 1_000,
  ) {
    this.restartDelayMs = minRestartDelayMs;
  }

  /** Starts the first process and resolves once it runs. */
  async start(): Promise<void> {
    this.spawn();
    await this.untilRunning();
  }

  /** Whether a process is up and has said "worker running". */
  get isRunning(): boolean {
    return this.running;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves when a process is up and running (waits through restarts). */
  async untilRunning(timeoutMs = 120_000): Promise<void> {
    if (this.running) return;
    await this.nextLine((line) => line.includes('"msg":"worker running"'), timeoutMs);
  }

  /** Resolves with the next output line that matches (any process), or rejects after `timeoutMs`. */
  nextLine(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const waiter: LineWaiter = {
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching worker output within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Sends `signal` to the running process and resolves when it is gone; it is then restarted. */
  async signal(signal: NodeJS.Signals): Promise<WorkerExit> {
    await this.untilRunning();
    const exited = this.exited!;
    const sent = Date.now();
    this.child!.kill(signal);
    const exit = await exited;
    return { ...exit, ms: exit.ms - sent };
  }

  /** Stops supervising, SIGTERMs the process, and resolves when it is gone. */
  async stop(): Promise<WorkerExit | undefined> {
    this.supervising = false;
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return undefined;
    const exited = this.exited!;
    const sent = Date.now();
    this.child.kill('SIGTERM');
    const exit = await exited;
    return { ...exit, ms: exit.ms - sent };
  }

  private spawn(): void {
    this.starts++;
    appendFileSync(this.logFile, `--- worker process ${this.starts} starting ---\n`);
    const child = spawn(
      process.execPath,
      ['bin/remote-completion.js', 'worker', '--config', this.configFile],
      {
        cwd: repoRoot(),
        env: { ...process.env, NODE_ENV: 'production' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    this.running = false;
    let pending = '';
    const onData = (chunk: Buffer) => {
      appendFileSync(this.logFile, chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.restartDelayMs = this.running
          ? this.minRestartDelayMs
          : Math.min(this.restartDelayMs * 2, 8_000);
        this.running = false;
        appendFileSync(
          this.logFile,
          `--- worker process ${this.starts} ended: ${signal ?? `code ${code}`} ---\n`,
        );
        resolve({ code, signal, ms: Date.now() });
        if (this.supervising) setTimeout(() => this.supervising && this.spawn(), this.restartDelayMs);
      }),
    );
  }

  private onLine(line: string): void {
    if (line.includes('"msg":"worker running"')) this.running = true;
    const matched = this.waiters.filter((w) => w.match(line));
    this.waiters = this.waiters.filter((w) => !matched.includes(w));
    for (const waiter of matched) waiter.resolve(line);
  }
}
