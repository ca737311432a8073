/**
 * The text part of a real request, read the way people with terminal mail clients read it:
 * neomutt, under tmux, opens the recipient's INBOX on the stack's Dovecot over IMAP and shows the
 * request; the test reads the screen. neomutt and tmux are Debian packages, installed here with
 * apt-get when missing; skipped, with the reason, when they are missing and we are not root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { ensureDebianPackages } from '../../dev/stack/packages';
import type { RemoteCompletionClient } from '../../client/task-client';
import { findTokens } from '../../domain/token';
import type { WorkerHandle } from '../../worker/run-worker';
import {
  account,
  eventually,
  scratchDir,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  unique,
  waitForMail,
} from '../helpers/env';

const exec = promisify(execFile);
const LOG = 'terminal-client';
const ALICE = 'alice@example.test';
const TERMINAL_PACKAGES = { neomutt: '/usr/bin/neomutt', tmux: '/usr/bin/tmux' };
const DESCRIPTION = [
  'Check **backup** first, then the [runbook](https://wiki.example.test/runbook) steps:',
  '',
  '1. stop the _old_ workers',
  '2. run `npm run migrate`',
  '',
  '- ask [ops](mailto:ops@example.test) if the café dashboard is red',
].join('\n');

const config = testConfig();
const log = testLogger(LOG);
let worker: WorkerHandle;
let tasks: RemoteCompletionClient;
/** The tmux server of this file, on its own socket so no other tmux is touched. */
const tmuxSocket = unique('text-part');
const tmux = (...args: string[]) => exec('tmux', ['-L', tmuxSocket, ...args], { env: terminalEnv() });

before(async () => {
  worker = await startWorker(config, log);
  tasks = await taskClient(config);
});
after(async () => {
  await tmux('kill-server').catch(() => undefined); // none started when the test was skipped
  await worker.shutdown();
});

function terminalEnv(home?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home ?? scratchDir,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TERM: 'xterm',
  };
}

/** neomutt settings: the recipient's INBOX, no caches, no prompts, the plain-text part, no wrap markers. */
function muttrc(subjectPattern: string): string {
  const { imap } = config;
  const password = account(ALICE).password;
  if (password.includes("'")) throw new Error('the test account password cannot be quoted for neomutt');
  const url = `${imap.tls ? 'imaps' : 'imap'}://${imap.host}:${imap.port}/INBOX`;
  return [
    `set imap_user='${ALICE}'`,
    `set imap_pass='${password}'`,
    `set folder='${url}'`,
    `set spoolfile='${url}'`,
    ...(imap.ca ? [`set ssl_ca_certificates_file='${imap.ca}'`] : []),
    'set ssl_starttls=no',
    'set header_cache= message_cachedir=',
    'set mail_check_stats=no imap_check_subscribed=no imap_passive=yes',
    'set help=no markers=no wait_key=no confirmappend=no pager_index_lines=0',
    'set charset=utf-8',
    'alternative_order text/plain',
    'ignore *',
    'unignore from: to: subject: date:',
    `push '<limit>~s ${subjectPattern}<enter><display-message>'`,
  ].join('\n');
}

void test('neomutt in a terminal shows the request readable: description rendered, answer instructions, tokens whole', async (t) => {
  try {
    await ensureDebianPackages(TERMINAL_PACKAGES, log);
  } catch (err) {
    t.skip(`neomutt and tmux are missing and cannot be installed here: ${(err as Error).message}`);
    return;
  }
  const taskId = unique('terminal');
  await tasks.start({ taskId, title: `Approve ${taskId}`, description: DESCRIPTION, assignees: ALICE });
  const [request] = await waitForMail(config, ALICE, (m) => (m.text ?? '').includes(taskId));
  const [complete, fail] = findTokens(request!.parsed.text ?? '');
  assert.ok(complete && fail, 'the text part carries both tokens');

  const home = mkdtempSync(path.join(scratchDir, 'neomutt-'));
  const rc = path.join(home, 'muttrc');
  writeFileSync(rc, muttrc(taskId), { mode: 0o600 });
  await tmux(
    'new-session',
    '-d',
    '-s',
    'mail',
    '-x',
    '200',
    '-y',
    '80',
    '-e',
    `HOME=${home}`,
    'neomutt',
    '-n',
    '-F',
    rc,
  );

  // -J joins lines the terminal wrapped, so a long line is compared whole.
  const screen = await eventually(
    'neomutt to show the request',
    async () => {
      const { stdout } = await tmux('capture-pane', '-p', '-J', '-t', 'mail');
      return stdout.includes(`Fail task [${fail}]`) && stdout;
    },
    20_000,
  ).catch(async (err: Error) => {
    const { stdout } = await tmux('capture-pane', '-p', '-J', '-t', 'mail');
    throw new Error(`${err.message}; the screen shows:\n${stdout}`);
  });
  await tmux('send-keys', '-t', 'mail', 'q', 'q');
  const lines = screen.split('\n').map((line) => line.trimEnd());
  const shows = (line: string) =>
    assert.ok(lines.includes(line), `the screen shows the line "${line}":\n${screen}`);

  assert.doesNotMatch(screen, /\*\*|`|\]\(/, 'no Markdown markers');
  shows('Check backup first, then the runbook <https://wiki.example.test/runbook> steps:');
  shows('1. stop the old workers');
  shows('2. run npm run migrate');
  shows('- ask ops <ops@example.test> if the café dashboard is red');
  shows('To answer, send an email to completion@example.test with one of the subjects below');
  shows('(when replying to this email, replace its subject):');
  shows(`  To complete the task:  Complete task [${complete}]`);
  shows(`  To fail the task:      Fail task [${fail}]`);
  shows('Send only one of them. Anything you write in the body is recorded as your comment.');
});
