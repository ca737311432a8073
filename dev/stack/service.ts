import type { Logger } from 'pino';
import type { ServiceName, StackState } from './state';
import type { TlsFiles } from './tls';

export interface ServiceContext {
  dir: string;
  state: StackState;
  tls: TlsFiles;
  /** Shared tools (the temporal CLI) under <repo>/.stack/tools. */
  toolsDir: string;
  log: Logger;
}

/** One daemon of the stack, as index.ts drives it. */
export interface Service {
  name: ServiceName;
  /** Loopback ports it listens on, by name (for error messages). */
  ports(state: StackState): Record<string, number>;
  where(state: StackState): string;
  /** A path inside the data dir that appears on the daemon's command line: tells our process from a reused pid. */
  marker(dir: string): string;
  /** A pid file the daemon maintains itself, if any. */
  pidFile?(dir: string): string;
  logFile(dir: string): string;
  readyTimeoutMs: number;
  /** Launches the daemon and returns its pid; readiness is `probe`'s business. */
  start(ctx: ServiceContext): Promise<number>;
  /** Resolves when the daemon answers on its ports; one quick attempt. */
  probe(ctx: ServiceContext): Promise<void>;
}
