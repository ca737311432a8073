import os from 'node:os';
import type { Command } from 'commander';
import { connectTemporal } from '../client/connect';
import { RemoteCompletionClient, TaskInputError } from '../client/task-client';
import { parseDuration } from '../domain/duration';
import { printableJson, printableText } from '../domain/printable';
import type { TaskResult, TaskState } from '../workflows/definitions';
import { configOption, readConfig, type GlobalOptions } from './context';
import { command } from './run-cli';

interface OutputOptions extends GlobalOptions {
  json?: boolean;
}

async function withClient<T>(
  options: GlobalOptions,
  fn: (client: RemoteCompletionClient) => Promise<T>,
): Promise<T> {
  const config = readConfig(options);
  const { client, connection } = await connectTemporal(config.temporal, cliIdentity());
  try {
    return await fn(
      new RemoteCompletionClient(client, config.temporal.taskQueue, config.whitelist, config.teams),
    );
  } finally {
    await connection.close();
  }
}

/** Names the operator in Temporal's history and in API decisions: the CLI runs as someone, somewhere. */
function cliIdentity(): string {
  return `${os.userInfo().username}@${os.hostname()} (remote-completion cli)`;
}

// What tasks hold came from users and from mail: never let it steer the operator's terminal.
function print(options: OutputOptions, value: unknown, text: () => string): void {
  process.stdout.write(`${options.json ? printableJson(value) : text()}\n`);
}

/** One line of text that came from a user or from mail. */
const shown = (text: string): string => printableText(text);

function formatResult(result: TaskResult): string {
  const by = result.decidedBy ? ` by ${shown(result.decidedBy)}` : '';
  const via = result.channel ? ` via ${result.channel}` : '';
  const caller =
    result.caller && result.caller !== result.decidedBy ? ` (caller ${shown(result.caller)})` : '';
  const comment = result.comment ? `\ncomment: ${printableText(result.comment, { multiline: true })}` : '';
  return `${result.outcome}${by}${via}${caller} at ${result.decidedAt}${comment}`;
}

function formatState(state: TaskState): string {
  const lines = [
    `task ${shown(state.taskId)}: ${shown(state.title)}`,
    `status: ${state.status}`,
    `created: ${state.createdAt}${state.timeoutAt ? `, times out ${state.timeoutAt}` : ''}`,
    ...(state.teams ?? []).map((t) => `team ${t.name}: ${t.members.join(', ')}`),
    'assignees:',
    ...state.assignees.map(
      (a) =>
        `  ${a.name ? `${shown(a.name)} <${shown(a.address)}>` : shown(a.address)}: ${a.delivery}` +
        `${a.deliveryError ? ` (${shown(a.deliveryError)})` : ''}${a.remindersSent ? `, ${a.remindersSent} reminder(s)` : ''}` +
        `${a.teams?.length ? ` [team ${a.teams.map(shown).join(', ')}]` : ''}`,
    ),
  ];
  if (state.result) lines.push(`result: ${formatResult(state.result)}`);
  for (const ignored of state.ignored) {
    lines.push(
      `ignored: ${ignored.action} by ${shown(ignored.by)} via ${ignored.channel} at ${ignored.at}: ${ignored.reason}`,
    );
  }
  const earlier = state.ignoredCount - state.ignored.length;
  if (earlier > 0) lines.push(`ignored: ${earlier} earlier decision(s) not kept`);
  return lines.join('\n');
}

export function registerTaskCommands(program: Command): void {
  const task = program
    .command('task')
    .description('start, inspect, decide and cancel remote completion tasks');
  const json = (cmd: Command) => configOption(cmd).option('--json', 'print JSON for scripts');

  json(task.command('start'))
    .description('start a task and email its assignees; prints the task id')
    .requiredOption(
      '--to <addresses>',
      'assignees and teams, comma-separated (e.g. alice@example.test,"Bob <bob@other.test>",team:release-managers)',
    )
    .requiredOption('--title <title>', 'what the assignees are asked to decide')
    .option('--description <text>', 'details, plain text or Markdown')
    .option('--id <taskId>', 'task id (letters, digits, ".", "_", "-"); generated when omitted')
    .option('--timeout <duration>', 'time out when nobody decides within this, e.g. 2d')
    .option('--reminder-every <duration>', 're-send the request this often while waiting, e.g. 1d')
    .option('--requester <who>', 'who asks, shown in the email')
    .action(
      command(
        async (
          opts: OutputOptions & {
            to: string;
            title: string;
            description?: string;
            id?: string;
            timeout?: string;
            reminderEvery?: string;
            requester?: string;
          },
        ) => {
          const started = await withClient(opts, (client) =>
            client.start({
              taskId: opts.id,
              title: opts.title,
              description: opts.description,
              assignees: opts.to,
              timeout: opts.timeout,
              reminderEvery: opts.reminderEvery,
              requester: opts.requester,
            }),
          );
          print(opts, started, () => started.taskId);
        },
      ),
    );

  json(task.command('show <taskId>'))
    .description('show a task: status, assignees and their delivery, decisions')
    .action(
      command(async (taskId: string, opts: OutputOptions) => {
        const state = await withClient(opts, (client) => client.getState(taskId));
        print(opts, state, () => formatState(state));
      }),
    );

  json(task.command('list'))
    .description('list tasks, newest first')
    .option('--status <status>', 'sending, waiting, completed, failed, timed-out or cancelled')
    .option('--assignee <address>', 'only tasks assigned to this address')
    .action(
      command(async (opts: OutputOptions & { status?: string; assignee?: string }) => {
        const tasks = await withClient(opts, (client) =>
          client.list({ status: opts.status, assignee: opts.assignee }),
        );
        print(opts, tasks, () =>
          tasks.length === 0
            ? 'no tasks'
            : tasks
                .map(
                  (t) =>
                    `${shown(t.taskId)}\t${t.status ?? t.executionStatus}\t${shown(t.assignees.join(','))}\t${shown(t.title ?? '')}`,
                )
                .join('\n'),
        );
      }),
    );

  json(task.command('wait <taskId>'))
    .description('wait for the task to close and print its result; exit 3 when --timeout passes first')
    .option('--timeout <duration>', 'give up after this long, e.g. 30s')
    .action(
      command(async (taskId: string, opts: OutputOptions & { timeout?: string }) => {
        const timeoutMs =
          opts.timeout === undefined ? undefined : parseDurationOption('--timeout', opts.timeout);
        const result = await withClient(opts, (client) => client.waitForResult(taskId, timeoutMs));
        print(opts, result, () => formatResult(result));
      }),
    );

  for (const action of ['complete', 'fail'] as const) {
    json(task.command(`${action} <taskId>`))
      .description(`${action} the task through the API (the first decision wins)`)
      .option('--comment <text>', 'why')
      .option('--by <who>', "who decided (default: this CLI's Temporal identity, user@host)")
      .action(
        command(async (taskId: string, opts: OutputOptions & { comment?: string; by?: string }) => {
          const result = await withClient(opts, (client) =>
            client[action](taskId, { by: opts.by, comment: opts.comment }),
          );
          print(opts, result, () => formatResult(result));
        }),
      );
  }

  json(task.command('reassign <taskId>'))
    .description('replace the assignees; new ones get fresh requests, removed ones can no longer decide')
    .requiredOption('--to <addresses>', 'new assignees and teams (team:NAME), comma-separated')
    .action(
      command(async (taskId: string, opts: OutputOptions & { to: string }) => {
        const state = await withClient(opts, (client) => client.reassign(taskId, opts.to));
        print(opts, state, () => formatState(state));
      }),
    );

  json(task.command('cancel <taskId>'))
    .description('cancel the task; assignees are told')
    .action(
      command(async (taskId: string, opts: OutputOptions) => {
        await withClient(opts, (client) => client.cancel(taskId));
        print(opts, { taskId, cancelled: true }, () => `task ${taskId} cancelled`);
      }),
    );
}

function parseDurationOption(name: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new TaskInputError(`${name}: ${(err as Error).message}`);
  }
}
