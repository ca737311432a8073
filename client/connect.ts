import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { Config } from '../config/schema';
import { ConfigError } from '../config/load';

/** Address, TLS and API key for both the client and the worker's native connection. */
export function temporalConnectionOptions(temporal: Config['temporal']): {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
} {
  const clientCertPair =
    temporal.clientCert && temporal.clientKey
      ? { crt: readFileSync(temporal.clientCert), key: readFileSync(temporal.clientKey) }
      : undefined;
  const tls = clientCertPair ? { clientCertPair } : temporal.tls || temporal.apiKey ? true : undefined;
  return { address: temporal.address, tls, apiKey: temporal.apiKey };
}

/** Connects to Temporal and checks the namespace, with errors that name the setting to fix. */
export async function connectTemporal(
  temporal: Config['temporal'],
): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...temporalConnectionOptions(temporal), connectTimeout: '5s' });
  } catch (err) {
    throw new ConfigError(
      `temporal.address: cannot reach Temporal at ${temporal.address}: ${firstLine(err)}`,
    );
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: temporal.namespace });
  } catch (err) {
    await connection.close();
    const notFound = (err as { code?: number }).code === 5;
    throw new ConfigError(
      notFound
        ? `temporal.namespace: namespace "${temporal.namespace}" does not exist on ${temporal.address}`
        : `temporal.address: Temporal at ${temporal.address} did not answer: ${firstLine(err)}`,
    );
  }
  return { client: new Client({ connection, namespace: temporal.namespace }), connection };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
