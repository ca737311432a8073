import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { ensureTemporalCli } from './packages';
import { spawnDetached } from './processes';
import type { Service } from './service';

const SERVING = 1; // grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING

const logFile = (dir: string) => path.join(dir, 'logs', 'temporal.log');
const dbFile = (dir: string) => path.join(dir, 'temporal', 'temporal.db');
export const temporalAddress = (ports: { temporal: number }) => `127.0.0.1:${ports.temporal}`;

export const temporal: Service = {
  name: 'temporal',
  ports: ({ ports }) => ({ 'gRPC frontend': ports.temporal, 'web UI': ports.temporalUi }),
  where: ({ ports }) => `${temporalAddress(ports)} (UI http://127.0.0.1:${ports.temporalUi})`,
  marker: dbFile,
  logFile,
  // The first start creates the SQLite schema.
  readyTimeoutMs: 60_000,

  async start({ dir, state, toolsDir, log }) {
    const bin = await ensureTemporalCli(toolsDir, log);
    await mkdir(path.dirname(dbFile(dir)), { recursive: true });
    // prettier-ignore
    const args = [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(state.ports.temporal),
      '--ui-port', String(state.ports.temporalUi),
      '--db-filename', dbFile(dir),
      '--namespace', 'default',
      '--log-level', 'warn',
      ...CUSTOM_SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.name}=${a.cliType}`]),
    ];
    log.debug({ bin, args }, 'starting temporal');
    return spawnDetached(bin, args, logFile(dir));
  },

  async probe({ state }) {
    const connection = Connection.lazy({ address: temporalAddress(state.ports), connectTimeout: 1_000 });
    try {
      await connection.ensureConnected();
      const { status } = await connection.healthService.check({});
      if (Number(status) !== SERVING) throw new Error(`health check says ${String(status)}`);
    } finally {
      await connection.close();
    }
  },
};
