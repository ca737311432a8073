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
      ? {
          crt: readPem('temporal.clientCert', temporal.clientCert),
          key: readPem('temporal.clientKey', temporal.clientKey),
        }
      : undefined;
  const tls = clientCertPair ? { clientCertPair } : temporal.tls || temporal.apiKey ? true : undefined;
  return { address: temporal.address, tls, apiKey: temporal.apiKey };
}

/** Connects to Temporal and checks the namespace, with errors that name the setting to fix. */
export async function connectTemporal(
  temporal: Config['temporal'],
  /** How this client names itself to Temporal (its history records it); the SDK's pid@host by default. */
  identity?: string,
): Promise<{ client: Client; connection: Connection }> {
  const options = temporalConnectionOptions(temporal);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: '5s' });
  } catch (err) {
    throw new ConfigError(
      `temporal.address: cannot reach Temporal at ${temporal.address}: ${firstLine(err)}`,
    );
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: temporal.namespace });
  } catch (err) {
    await connection.close();
    // gRPC status codes: 5 NOT_FOUND, 7 PERMISSION_DENIED, 16 UNAUTHENTICATED.
    const code = (err as { code?: number }).code;
    const credentials = temporal.apiKey ? 'temporal.apiKey' : 'temporal.clientCert/clientKey';
    throw new ConfigError(
      code === 5
        ? `temporal.namespace: namespace "${temporal.namespace}" does not exist on ${temporal.address}`
        : code === 7 || code === 16
          ? `${credentials}: Temporal at ${temporal.address} refused the credentials: ${firstLine(err)}`
          : `temporal.address: Temporal at ${temporal.address} did not answer: ${firstLine(err)}`,
    );
  }
  return { client: new Client({ connection, namespace: temporal.namespace, identity }), connection };
}

function readPem(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(
      `${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? firstLine(err)}`,
    );
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
