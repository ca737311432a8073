import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/schema';
import { ConfigError } from '../config/load';

/** Connects to Temporal and checks the namespace, with errors that name the setting to fix. */
export async function connectTemporal(
  temporal: Config['temporal'],
): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: temporal.address, connectTimeout: '5s' });
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
