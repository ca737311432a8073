/**
 * The list floor: a plain visibility list with @temporalio/client, the same query `task list
 * --status waiting` sends, every page read, nothing decoded. Prints the count.
 * Run: node --import tsx dev/bench/plain-list.ts <config>
 */
import { connectTemporal } from '../../client/connect';
import { loadConfig } from '../../config/load';

async function main(): Promise<void> {
  const config = loadConfig(process.argv[2]!, {});
  const { client, connection } = await connectTemporal(config.temporal);
  let count = 0;
  const query = `WorkflowType = 'remoteCompletionTask' AND ExecutionStatus != 'ContinuedAsNew' AND RemoteCompletionStatus = 'waiting' AND ExecutionStatus = 'Running'`;
  for await (const info of client.workflow.list({ query })) if (info.workflowId) count++;
  process.stdout.write(`${count}\n`);
  await connection.close();
}

void main();
