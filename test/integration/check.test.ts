import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { stringify } from 'yaml';
import type { Config } from '../../config/schema';
import { repoRoot } from '../../dev/stack';
import type { CheckResult } from '../../cli/config-check';
import { createSearchAttributeCommand } from '../../worker/search-attributes';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { imapFor, logDir, sendAs, testConfig, unique, waitForMail } from '../helpers/env';

// Config variants hold the stack's real passwords: a private directory in the stack, outside its logs.
const dir = mkdtempSync(path.join(path.dirname(logDir), 'check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
const olderSecret = randomBytes(32).toString('base64');
const base = testConfig();
const secrets = [
  base.imap.password,
  base.smtp.password!,
  ...base.signature.secrets,
  wrongPassword,
  olderSecret,
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `remote-completion <command>` on the test config as changed by `change`. */
function withConfig(command: string, change: (config: Config) => void, ...args: string[]): Promise<Run> {
  const file = path.join(dir, `${unique('config')}.yaml`);
  writeFileSync(file, stringify(testConfig(change)), { mode: 0o600 });
  return runCli([command, '--config', file, ...args]);
}

const check = (change: (config: Config) => void, ...args: string[]) => withConfig('check', change, ...args);

async function runCli(args: string[]): Promise<Run> {
  // The config file alone decides (no REMOTE_COMPLETION_* overrides), and the CLI runs from source, not dist/.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('REMOTE_COMPLETION_') && key !== 'NODE_ENV',
    ),
  );
  const run = await new Promise<Run>((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot(), 'bin', 'remote-completion.js'), ...args],
      { cwd: repoRoot(), env, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  for (const secret of secrets)
    assert.ok(!(run.stdout + run.stderr).includes(secret), 'the output shows a password or secret');
  return run;
}

async function checkJson(
  change: (config: Config) => void,
  ...args: string[]
): Promise<{ code: number; results: CheckResult[] }> {
  const run = await check(change, '--json', ...args);
  return { code: run.code, results: JSON.parse(run.stdout) as CheckResult[] };
}

const only = (results: CheckResult[], name: string): CheckResult[] => results.filter((r) => r.name === name);
const allOk = (results: CheckResult[], name: string) =>
  assert.ok(
    only(results, name).length > 0 && only(results, name).every((r) => r.ok),
    `${name}: ${JSON.stringify(only(results, name))}`,
  );

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function removeMail(subject: string): Promise<void> {
  const imap = imapFor(base, base.imap.user);
  await imap.connect();
  try {
    await imap.mailboxOpen('INBOX');
    const uids = await imap.search({ subject }, { uid: true });
    if (uids && uids.length > 0) await imap.messageDelete(uids, { uid: true });
  } finally {
    await imap.logout();
  }
}

describe('remote-completion check against the real stack', () => {
  test('the good config: every line ok, exit 0', async () => {
    const { code, stdout } = await check(() => {});
    assert.equal(code, 0, stdout);
    assert.doesNotMatch(stdout, /^problem/m);
    assert.match(
      stdout,
      new RegExp(`^ok +temporal +connected to ${base.temporal.address}, namespace default$`, 'm'),
    );
    assert.match(stdout, /^ok +temporal +search attributes registered$/m);
    assert.match(
      stdout,
      new RegExp(
        `^ok +smtp +connected to ${base.smtp.host}:${base.smtp.port}, STARTTLS \\(required\\), AUTH as ${base.smtp.user} accepted$`,
        'm',
      ),
    );
    assert.match(
      stdout,
      new RegExp(
        `^ok +imap +logged in as ${base.imap.user} at ${base.imap.host}:${base.imap.port} \\(TLS\\), INBOX selectable$`,
        'm',
      ),
    );
    assert.match(stdout, /^ok +config +whitelist off/m);
    assert.match(stdout, /^ok +config +1 signature secret$/m);
    assert.match(
      stdout,
      /^ok +config +sender authentication: DKIM\/DMARC checked here, DNS from 127\.0\.0\.1:\d+$/m,
    );
    assert.doesNotMatch(stdout, /without TLS/);
  });

  test('sender authentication off: a warning, exit 0', async () => {
    const { code, results } = await checkJson((c) => (c.senderAuthentication.mode = 'off'));
    assert.equal(code, 0);
    const [off] = only(results, 'config').filter((r) => r.warning);
    assert.deepEqual(off, {
      name: 'config',
      ok: true,
      warning: true,
      detail: 'sender authentication off: a reply counts as sent by whatever its From header says',
      fix: 'set senderAuthentication.mode: verify (DKIM/DMARC here) or authentication-results (your inbound server checks)',
    });
  });

  test('transport security: a password without TLS only to loopback, else a config error naming the key', async () => {
    const loopback = await checkJson((c) => (c.smtp.requireTLS = false));
    assert.equal(loopback.code, 0);
    assert.ok(
      only(loopback.results, 'smtp').some(
        (r) => r.ok && r.detail === 'the SMTP password may travel without TLS, to loopback 127.0.0.1 only',
      ),
      JSON.stringify(loopback.results),
    );
    const remote = await check((c) =>
      Object.assign(c.smtp, { host: 'smtp.example.test', requireTLS: false }),
    );
    assert.equal(remote.code, 1);
    assert.match(
      remote.stderr,
      /^error: smtp\.requireTLS: requireTLS is false, so the SMTP password could travel without TLS: set smtp\.requireTLS: true/,
    );
    const weak = await check((c) => (c.signature.secrets = ['a-secret-of-at-least-16-chars']));
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /^error: signature\.secrets\.0: too weak: .*openssl rand -base64 32/);
    assert.doesNotMatch(weak.stderr, /a-secret-of/);
  });

  test('config facts: whitelist domains and the number of secrets, never the secrets', async () => {
    const { code, results } = await checkJson((c) => {
      c.whitelist = { enabled: true, domains: ['example.test', '*.example.test'] };
      c.signature.secrets = [...c.signature.secrets, olderSecret];
    });
    assert.equal(code, 0);
    const facts = only(results, 'config').map((r) => r.detail);
    assert.ok(
      facts.includes(
        'whitelist on: senders and recipients of decisions must be in example.test, *.example.test',
      ),
      facts.join('\n'),
    );
    assert.ok(facts.includes('2 signature secrets: signing with the first, accepting all'), facts.join('\n'));
    assert.ok(!JSON.stringify(results).includes(olderSecret));
  });

  test('a wrong IMAP password: an imap problem without the password, exit 1, the rest still checked', async () => {
    const { code, stdout } = await check((c) => (c.imap.password = wrongPassword));
    assert.equal(code, 1);
    assert.match(
      stdout,
      new RegExp(
        `^problem +imap +IMAP login as ${base.imap.user} at ${base.imap.host}:${base.imap.port} failed: wrong imap.user or imap.password.*; fix: set the right imap.user and imap.password$`,
        'm',
      ),
    );
    assert.match(stdout, /^ok +smtp /m);
    assert.match(stdout, /^ok +temporal +connected/m);
  });

  test('a wrong SMTP password: an smtp problem', async () => {
    const { code, results } = await checkJson((c) => (c.smtp.password = wrongPassword));
    assert.equal(code, 1);
    const [smtp] = only(results, 'smtp');
    assert.equal(smtp?.ok, false);
    assert.match(smtp.detail, /refused: wrong smtp.user or smtp.password \(535 /);
    allOk(results, 'imap');
    allOk(results, 'temporal');
  });

  test('closed IMAP and SMTP ports: connection problems naming host:port', async () => {
    const [imapPort, smtpPort] = [await freePort(), await freePort()];
    const { code, results } = await checkJson((c) => {
      c.imap.port = imapPort;
      c.smtp.port = smtpPort;
    });
    assert.equal(code, 1);
    assert.deepEqual(only(results, 'imap'), [
      {
        name: 'imap',
        ok: false,
        detail: `cannot connect to IMAP at 127.0.0.1:${imapPort}: ECONNREFUSED`,
        fix: 'check imap.host/imap.port/imap.tls and that the IMAP server runs',
      },
    ]);
    assert.deepEqual(only(results, 'smtp'), [
      {
        name: 'smtp',
        ok: false,
        detail: `cannot connect to SMTP at 127.0.0.1:${smtpPort}: ECONNREFUSED`,
        fix: 'check smtp.host/smtp.port',
      },
    ]);
    allOk(results, 'temporal');
  });

  test('Temporal unreachable: a temporal problem', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const { code, results } = await checkJson((c) => (c.temporal.address = address));
    assert.equal(code, 1);
    const temporal = only(results, 'temporal');
    assert.equal(temporal.length, 1);
    assert.equal(temporal[0]?.ok, false);
    assert.match(temporal[0].detail, new RegExp(`^temporal.address: cannot reach Temporal at ${address}`));
    allOk(results, 'imap');
    allOk(results, 'smtp');
  });

  test('an unknown namespace: a temporal problem with the command that creates it', async () => {
    const namespace = unique('no-such-namespace');
    const { code, results } = await checkJson((c) => (c.temporal.namespace = namespace));
    assert.equal(code, 1);
    const [temporal] = only(results, 'temporal');
    assert.equal(temporal?.ok, false);
    assert.match(temporal.detail, new RegExp(`namespace "${namespace}" does not exist`));
    assert.match(
      temporal.fix ?? '',
      new RegExp(`temporal operator namespace create --namespace ${namespace}`),
    );
  });

  test('mail in INBOX: a warning that every message is removed, exit 0', async () => {
    const subject = unique('check-inbox');
    try {
      // Retried in case something else empties the completion INBOX between delivery and the check.
      let imap: CheckResult[] = [];
      for (let attempt = 1; attempt <= 3 && !imap.some((r) => r.warning); attempt++) {
        await sendAs(base, 'alice@example.test', {
          to: base.imap.fromAddress,
          subject,
          text: 'left for the check test',
        });
        await waitForMail(base, base.imap.fromAddress, (mail) => mail.subject === subject);
        const { code, results } = await checkJson((c) => (c.imap.auditFolder = 'Processed'));
        assert.equal(code, 0);
        imap = only(results, 'imap');
      }
      assert.equal(imap[0]?.ok, true);
      const warning = imap.find((r) => r.warning);
      assert.ok(warning, JSON.stringify(imap));
      assert.equal(warning.ok, true);
      assert.match(
        warning.detail,
        /^INBOX holds \d+ messages?: every message in INBOX, unrecognised ones too, is moved to imap.auditFolder "Processed" after processing$/,
      );
      assert.match(warning.fix ?? '', /must be dedicated/);
    } finally {
      await removeMail(subject);
    }
  });

  test('missing search attributes: reported with the commands, registered by --fix (in a namespace of its own)', async () => {
    // The shared namespace must keep its attributes, so the test registers a fresh one.
    const namespace = unique('check-fix');
    const connection = await Connection.connect({ address: base.temporal.address });
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      const inNamespace = (c: Config) => (c.temporal.namespace = namespace);

      const missing = await checkJson(inNamespace);
      assert.equal(missing.code, 1);
      const [, attributes] = only(missing.results, 'temporal');
      assert.equal(attributes?.ok, false);
      const names = CUSTOM_SEARCH_ATTRIBUTES.map((a) => a.name);
      assert.equal(
        attributes.detail,
        `search attributes ${names.join(', ')} are not registered in namespace ${namespace}`,
      );
      assert.equal(
        attributes.fix,
        `${names.map((name) => createSearchAttributeCommand(namespace, name)).join(' && ')} (or run check --fix)`,
      );

      const fixed = await check(inNamespace, '--fix');
      assert.equal(fixed.code, 0, fixed.stdout);
      assert.match(
        fixed.stdout,
        new RegExp(`^ok +temporal +registered search attributes ${names.join(', ')}$`, 'm'),
      );

      const again = await check(inNamespace);
      assert.equal(again.code, 0, again.stdout);
      assert.match(again.stdout, /^ok +temporal +search attributes registered$/m);
    } finally {
      await connection.operatorService.deleteNamespace({ namespace }).catch(() => {});
      await connection.close();
    }
  });

  test('the worker refuses to start with a wrong IMAP password: one line, exit 1', async () => {
    const run = await withConfig('worker', (c) => {
      c.imap.password = wrongPassword;
    });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^error: imap: IMAP login as completion@example\.test at 127\.0\.0\.1:\d+ failed: wrong imap\.user or imap\.password/,
    );
    assert.equal(run.stderr.trim().split('\n').length, 1, 'no stack trace');
  });

  test('an unreadable config is one error line, exit 1', async () => {
    const run = await runCli(['check', '--config', path.join(dir, 'missing.yaml')]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: config file .*missing\.yaml does not exist/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  });
});
