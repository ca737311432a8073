import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../../dev/stack';
import type { WorkerHandle } from '../../worker/run-worker';
import {
  eventually,
  startWorker,
  testConfig,
  testLogger,
  unique,
  waitForMail,
  writeConfigFile,
} from '../helpers/env';

const config = testConfig((c) => {
  c.imap.idle = false;
});
const configFile = writeConfigFile(config);
let worker: WorkerHandle;

before(async () => {
  worker = await startWorker(config, testLogger('cli'));
});
after(() => worker.shutdown());

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('REMOTE_COMPLETION_') && key !== 'NODE_ENV',
    ),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot(), 'bin', 'remote-completion.js'), ...args, '--config', configFile],
      { cwd: repoRoot(), env, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('task start, show, list, wait, complete through the CLI', async () => {
  const taskId = unique('cli');
  const started = await cli(
    'task',
    'start',
    '--to',
    'alice@example.test,"Smith, Carol" <carol@example.test>',
    '--title',
    'From the CLI\x1b]0;renamed terminal\x07',
    '--id',
    taskId,
    '--timeout',
    '1h',
  );
  assert.equal(started.code, 0, started.stderr);
  assert.equal(started.stdout.trim(), taskId);
  await waitForMail(config, 'carol@example.test', (m) => (m.text ?? '').includes(taskId));

  const shown = await cli('task', 'show', taskId, '--json');
  const state = JSON.parse(shown.stdout) as {
    status: string;
    assignees: { address: string; name?: string }[];
  };
  assert.deepEqual(
    state.assignees.map((a) => [a.address, a.name]),
    [
      ['alice@example.test', undefined],
      ['carol@example.test', 'Smith, Carol'],
    ],
  );

  // What users and mail wrote is shown, never obeyed: no escape sequence reaches the terminal.
  const text = await cli('task', 'show', taskId);
  assert.match(text.stdout, new RegExp(`^task ${taskId}: From the CLI\n`));
  assert.match(text.stdout, /^ {2}Smith, Carol <carol@example.test>: /m);
  assert.ok(!text.stdout.includes('\x1b'), text.stdout);

  const waited = await cli('task', 'wait', taskId, '--timeout', '1s');
  assert.equal(waited.code, 3, 'exit 3 when the wait times out');
  assert.match(waited.stderr, /^error: task .* is still open/);

  const comment = 'via cli\x1b[2K\x1b[1A\rrewritten';
  const completed = await cli('task', 'complete', taskId, '--comment', comment, '--by', 'ops');
  assert.equal(completed.code, 0, completed.stderr);
  assert.match(completed.stdout, /^completed by ops via api .*\ncomment: via cli\nrewritten\n$/);

  const result = JSON.parse((await cli('task', 'wait', taskId, '--json')).stdout) as Record<string, unknown>;
  assert.deepEqual(
    [result.outcome, result.comment, result.decidedBy, result.channel],
    ['completed', comment, 'ops', 'api'],
  );

  // Visibility is eventually consistent: the list catches up within moments.
  await eventually('the task in the completed list', async () => {
    const listed = await cli('task', 'list', '--status', 'completed', '--json');
    return (JSON.parse(listed.stdout) as { taskId: string }[]).some((t) => t.taskId === taskId);
  });
});

test('bad input: one line on stderr, non-zero exit, nothing started', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['task', 'start', '--to', 'not-an-address', '--title', 'x'],
      /^error: not an email address: "not-an-address"$/,
    ],
    [['task', 'start', '--to', 'alice@example.test', '--title', '  '], /^error: a task needs a title/],
    [
      ['task', 'start', '--to', 'alice@example.test', '--title', 'x', '--timeout', 'soon'],
      /^error: --timeout: expected a duration/,
    ],
    [
      ['task', 'start', '--to', 'alice@example.test', '--title', 'x', '--timeout', '99999999999w'],
      /^error: --timeout: expected at most one year \(1y\), got "99999999999w"$/,
    ],
    [
      ['task', 'start', '--to', 'alice@example.test', '--title', 'x', '--description', 'x'.repeat(20_001)],
      /^error: the description is longer than 20000 characters/,
    ],
    [
      ['task', 'start', '--to', '"Bob\u202e" <bob@example.test>', '--title', 'x'],
      /^error: assignee name "Bob" holds control characters or line breaks: use one printable line$/,
    ],
    [['task', 'show', 'no-such-task'], /^error: no task with id no-such-task$/],
    [['task', 'list', '--status', 'sleeping'], /^error: unknown status "sleeping"/],
    [['task', 'complete', 'bad id!'], /^error: invalid task id/],
  ];
  for (const [args, message] of cases) {
    const run = await cli(...args);
    assert.equal(run.code, 1, args.join(' '));
    assert.match(run.stderr.trim(), message);
    assert.equal(run.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  }
});
