/**
 * `npm run demo`: the whole loop on the embedded stack, printed as a timeline. Starts a task for
 * alice, reads her request over IMAP, takes the Complete link, sends that reply over SMTP as alice
 * with a comment, and waits for the task to close.
 */
import { connectTemporal } from '../../client/connect';
import { RemoteCompletionClient } from '../../client/task-client';
import { loadConfig } from '../../config/load';
import { embeddedStackDir, runningWorker, stackUp } from '../stack';
import { createLogger } from '../../worker/logger';
import { createWorker } from '../../worker/run-worker';
import { fetchRequest, mailtoLinks, replyFromLink, sendAs } from '../mail-client';

const ALICE = 'alice@example.test';
const started = Date.now();
const say = (line: string) =>
  process.stdout.write(`${`+${((Date.now() - started) / 1000).toFixed(3)}s`.padStart(9)}  ${line}\n`);

async function main(): Promise<void> {
  const dir = embeddedStackDir();
  const quiet = createLogger({ level: 'warn', stream: 'stderr' });
  const stack = await stackUp({ dir, log: quiet });
  say(
    `local stack ${stack.reused ? 'reused' : 'started'}: Temporal ${stack.temporal.address}, UI ${stack.temporal.uiUrl}`,
  );
  const config = loadConfig(stack.configFile);
  const alice = stack.accounts.find((a) => a.address === ALICE)!;

  const external = await runningWorker(dir);
  const worker = external ? undefined : await createWorker(config, quiet);
  void worker?.run();
  say(
    external ? `using the running worker (pid ${external})` : 'worker started in this process (IMAP IDLE on)',
  );

  const { client, connection } = await connectTemporal(config.temporal);
  try {
    const tasks = new RemoteCompletionClient(client, config.temporal.taskQueue, config.whitelist);
    const { taskId } = await tasks.start({
      title: 'Approve the production deploy of release 2026.11',
      description: 'The **database backup** was checked at 05:00 UTC. Reply *Complete* to go ahead.',
      assignees: ALICE,
      requester: 'release-pipeline',
    });
    say(`task ${taskId} started for ${ALICE}`);

    const request = await fetchRequest(config, alice, taskId);
    say(`alice's request arrived over IMAP: "${request.subject}"`);
    const [completeLink] = mailtoLinks(request.html);
    if (!completeLink) throw new Error('the request has no Complete link');
    const reply = replyFromLink(completeLink, 'Backup verified, go ahead.\n');
    say(`alice takes the Complete link: reply to ${reply.to}, subject "${reply.subject.slice(0, 40)}…"`);
    await sendAs(config, alice, reply);
    const sentAt = Date.now();
    say('alice sent her reply over SMTP');

    const result = await tasks.waitForResult(taskId, 60_000);
    const closedIn = Date.now() - sentAt;
    say(`task ${taskId} closed`);
    process.stdout.write(
      `\n  outcome    ${result.outcome}\n  decidedBy  ${result.decidedBy}\n  channel    ${result.channel}\n` +
        `  comment    ${result.comment}\n  reply -> closed in ${closedIn} ms\n\n` +
        `  inspect it: npx remote-completion task show ${taskId}\n  Temporal UI: ${stack.temporal.uiUrl}\n`,
    );
  } finally {
    await connection.close();
    await worker?.shutdown();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
