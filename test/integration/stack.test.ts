import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, rm, stat } from 'node:fs/promises';
import tls from 'node:tls';
import path from 'node:path';
import { after, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { loadConfig } from '../../config/load';
import { authenticateSender } from '../../mail/authenticate-sender';
import {
  removeStackDataDir,
  repoRoot,
  stackDown,
  stackStatus,
  stackUp,
  type StackInfo,
} from '../../dev/stack';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

// Under a 0700 directory, like a clone in /root: the daemons (nobody, dovecot, postfix) cannot enter it.
const privateParent = path.join(repoRoot(), '.stack', `it-stack-${process.pid}`);
const dir = path.join(privateParent, 'stack');
const log = pino({ level: process.env.STACK_TEST_LOG ?? 'warn' });
const opts = { dir, log };

after(async () => {
  await stackDown(opts);
  await removeStackDataDir(dir);
  await rm(privateParent, { recursive: true, force: true });
});

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' });

/** The certificate a TLS server on 127.0.0.1:port presents, verified against `ca`. */
function servedCertificate(port: number, ca: Buffer): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerCertificate());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** State and session id from /proc, independent of the stack's own helpers. */
function procStat(pid: number | string): { state: string; sid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', sid: Number(fields[3]) };
  } catch {
    return undefined;
  }
}

/** Zombies count as gone: here pid 1 is no init and reaps orphans only late. */
const alive = (pid: number | string) => !['Z', 'X', undefined].includes(procStat(pid)?.state);

const sessionMembers = (sids: number[]) =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && alive(name) && sids.includes(procStat(name)?.sid ?? 0))
    .map(Number);

async function until<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const pidsOf = (info: StackInfo) => [
  info.temporal.pid,
  info.imap.pid,
  info.smtp.pid,
  info.dns.pid,
  info.dkim.pid,
];
const passwordOf = (info: StackInfo, address: string) =>
  info.accounts.find((a) => a.address === address)?.password ?? assert.fail(`no account ${address}`);
const since = (t0: number) => `${Math.round(performance.now() - t0)} ms`;

void test('local stack: up, reuse, partial restart, real mail over SMTP and IMAP, down', async (t) => {
  await removeStackDataDir(dir);
  mkdirSync(privateParent, { recursive: true });
  await chmod(privateParent, 0o700);

  let t0 = performance.now();
  const info = await stackUp(opts);
  t.diagnostic(`cold up (fresh dir, incl. certificate): ${since(t0)}`);
  assert.equal(info.reused, false);
  for (const pid of pidsOf(info)) assert.ok(pid > 0 && alive(pid), `pid ${pid} should be alive`);
  let ca = readFileSync(info.caFile);
  const completion = 'completion@example.test';
  const alice = 'alice@example.test';

  await t.test('generated config passes the project schema, secrets are 0600', async () => {
    const config = loadConfig(info.configFile, {});
    assert.equal(config.temporal.address, info.temporal.address);
    assert.equal(config.smtp.port, info.smtp.port);
    assert.equal(config.imap.port, info.imap.port);
    assert.equal(config.imap.password, passwordOf(info, completion));
    assert.equal(config.smtp.ca, info.caFile);
    assert.deepEqual(config.senderAuthentication.dnsServers, [info.dns.server]);
    assert.equal(config.senderAuthentication.mode, 'verify');
    assert.deepEqual(info.accounts.map((a) => a.address).sort(), [
      alice,
      'bob@other.test',
      'carol@example.test',
      completion,
    ]);
    for (const file of [info.configFile, path.join(dir, 'stack.json')])
      assert.equal((await stat(file)).mode & 0o777, 0o600, file);
  });

  await t.test('the daemons files live outside the checkout, behind the handle', async () => {
    assert.ok(lstatSync(dir).isSymbolicLink(), `${dir} is a symlink`);
    assert.equal(realpathSync(dir), info.dataDir);
    assert.ok(info.dataDir.startsWith('/var/lib/remote-completion/'), info.dataDir);
    assert.equal((await stat(info.dataDir)).mode & 0o777, 0o711, 'traversable, not listable');
    assert.equal((await stat(privateParent)).mode & 0o777, 0o700, 'the checkout side stays private');
    // Through the handle, as tests and users read them.
    assert.ok(existsSync(path.join(dir, 'dovecot', 'dovecot.conf')));
    assert.ok(existsSync(path.join(dir, 'postfix', 'etc', 'main.cf')));
  });

  await t.test('the server certificate is a leaf for localhost and 127.0.0.1, issued by the CA', async () => {
    const leaf = path.join(info.dataDir, 'tls', 'cert.pem');
    assert.equal(
      openssl('verify', '-purpose', 'sslserver', '-CAfile', info.caFile, leaf).trim(),
      `${leaf}: OK`,
    );
    const text = openssl('x509', '-in', leaf, '-noout', '-text');
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Extended Key Usage:\s+TLS Web Server Authentication/);
    assert.match(text, /X509v3 Subject Alternative Name:\s+DNS:localhost, IP Address:127\.0\.0\.1/);
    assert.match(openssl('x509', '-in', info.caFile, '-noout', '-text'), /CA:TRUE/);
    assert.equal((await stat(path.join(info.dataDir, 'tls', 'key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(info.dataDir, 'tls', 'ca.key'))).mode & 0o777, 0o600);
    // What Dovecot serves on IMAPS verifies against the CA, hostname 127.0.0.1 included.
    const served = await servedCertificate(info.imap.port, ca);
    assert.equal(served.ca, false);
    assert.equal(served.subjectaltname, 'DNS:localhost, IP Address:127.0.0.1');
  });

  await t.test('temporal answers and has the custom search attributes', async () => {
    const connection = await Connection.connect({ address: info.temporal.address });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: 'default',
      });
      for (const { name } of CUSTOM_SEARCH_ATTRIBUTES)
        assert.ok(customAttributes && name in customAttributes, `search attribute ${name}`);
    } finally {
      await connection.close();
    }
  });

  await t.test('second up reuses everything', async () => {
    t0 = performance.now();
    const again = await stackUp(opts);
    t.diagnostic(`warm up (all running): ${since(t0)}`);
    assert.equal(again.reused, true);
    assert.deepEqual(pidsOf(again), pidsOf(info));
  });

  await t.test('up restarts only a dead service', async () => {
    process.kill(info.imap.pid, 'SIGTERM');
    await until('dovecot to exit', () => (alive(info.imap.pid) ? undefined : true));
    t0 = performance.now();
    const again = await stackUp(opts);
    t.diagnostic(`up with dovecot dead: ${since(t0)}`);
    assert.equal(again.reused, false);
    assert.notEqual(again.imap.pid, info.imap.pid);
    assert.ok(alive(again.imap.pid));
    assert.equal(again.temporal.pid, info.temporal.pid);
    assert.equal(again.smtp.pid, info.smtp.pid);
    info.imap.pid = again.imap.pid;
  });

  await t.test(
    'an old self-signed CA:TRUE certificate is replaced at the next up, and Dovecot and Postfix restart',
    async () => {
      const tlsDir = path.join(info.dataDir, 'tls');
      // The certificate stacks made before the local CA: self-signed, CA:TRUE (req -x509's default).
      // prettier-ignore
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(tlsDir, 'key.pem'), '-out', path.join(tlsDir, 'cert.pem'));
      await rm(path.join(tlsDir, 'ca.pem'));
      const again = await stackUp(opts);
      assert.equal(again.reused, false);
      assert.notEqual(again.imap.pid, info.imap.pid, 'dovecot restarted');
      assert.notEqual(again.smtp.pid, info.smtp.pid, 'postfix restarted');
      assert.equal(again.temporal.pid, info.temporal.pid, 'temporal kept');
      assert.match(openssl('x509', '-in', path.join(tlsDir, 'cert.pem'), '-noout', '-text'), /CA:FALSE/);
      const newCa = readFileSync(again.caFile);
      assert.equal((await servedCertificate(again.imap.port, newCa)).ca, false);
      info.imap.pid = again.imap.pid;
      info.smtp.pid = again.smtp.pid;
      ca = newCa;
    },
  );

  const smtp = (auth?: { user: string; pass: string }) =>
    nodemailer.createTransport({
      host: info.smtp.host,
      port: info.smtp.port,
      secure: false,
      requireTLS: true,
      auth,
      tls: { ca },
    });

  /** Asserts an SMTP refusal: its code and its text. */
  const refused = (code: number, text: RegExp) => (err: { responseCode?: number; response?: string }) => {
    assert.equal(err.responseCode, code, err.response);
    assert.match(err.response ?? '', text);
    return true;
  };

  await t.test('mail from alice (STARTTLS + AUTH) reaches completion over IMAPS', async () => {
    const token = randomUUID();
    const sent = await smtp({ user: alice, pass: passwordOf(info, alice) }).sendMail({
      from: alice,
      to: completion,
      subject: `stack test ${token}`,
      text: `body ${token}`,
    });
    assert.deepEqual(sent.accepted, [completion]);

    const imap = new ImapFlow({
      host: info.imap.host,
      port: info.imap.port,
      secure: true,
      tls: { ca },
      auth: { user: completion, pass: passwordOf(info, completion) },
      logger: false,
    });
    await imap.connect();
    try {
      const uid = await until('the message in INBOX', async () => {
        await imap.mailboxOpen('INBOX'); // re-select: a selected mailbox does not see new mail by itself
        const uids = await imap.search({ subject: token }, { uid: true });
        return uids && uids.length === 1 ? uids[0] : undefined;
      });
      const message = await imap.fetchOne(String(uid), { envelope: true, source: true }, { uid: true });
      assert.ok(message && message.source, 'fetched the message');
      assert.equal(message.envelope?.from?.[0]?.address, alice);
      const source = message.source.toString();
      assert.match(source, new RegExp(`body ${token}`));
      // Postfix stamps "ESMTPSA" only for a session that was both TLS-encrypted and authenticated.
      assert.match(source, /with ESMTPSA/);
      // OpenDKIM signed it with example.test's key; the stack's DNS has the key and DMARC record.
      const verdict = await authenticateSender(message.source, {
        mode: 'verify',
        dnsServers: [info.dns.server],
      });
      assert.deepEqual(
        [verdict.status, verdict.summary],
        ['pass', 'dmarc=pass (p=reject) header.from=example.test; dkim=pass d=example.test aligned'],
      );
    } finally {
      await imap.logout();
    }
  });

  await t.test('a wrong SMTP password gets 535', async () => {
    await assert.rejects(
      smtp({ user: alice, pass: 'wrong-password' }).sendMail({ from: alice, to: completion, text: 'x' }),
      (err: { responseCode?: number }) => {
        assert.equal(err.responseCode, 535);
        return true;
      },
    );
  });

  await t.test('an unknown recipient gets 550 at RCPT', async () => {
    const send = smtp({ user: alice, pass: passwordOf(info, alice) }).sendMail({
      from: alice,
      to: 'nobody@example.test',
      text: 'x',
    });
    await assert.rejects(send, (err: { responseCode?: number; response?: string }) => {
      assert.equal(err.responseCode, 550);
      assert.match(err.response ?? '', /User unknown/);
      return true;
    });
  });

  await t.test(
    'submission binds From and MAIL FROM to the login, as organisations configure it',
    async () => {
      const carol = 'carol@example.test';
      const asCarol = smtp({ user: carol, pass: passwordOf(info, carol) });
      const raw = (from: string) => `From: ${from}\r\nTo: ${completion}\r\nSubject: binding\r\n\r\nx\r\n`;
      const envelope = { from: carol, to: [completion] };
      // DKIM vouches for the domain only: without this, carol could write alice's name and pass DMARC.
      for (const from of [alice, `"Carol" <${carol}>, ${alice}`])
        await assert.rejects(asCarol.sendMail({ envelope, raw: raw(from) }), refused(550, /not your login/));
      // alice's address in a comment or a display name is no From address.
      for (const from of [`${carol} (${alice})`, `"${alice}" <${carol}>`])
        assert.deepEqual((await asCarol.sendMail({ envelope, raw: raw(from) })).accepted, [completion]);
      await assert.rejects(
        asCarol.sendMail({ envelope: { from: alice, to: [completion] }, raw: raw(carol) }),
        refused(553, /not owned by user carol@example\.test/),
      );
      // Another domain's server binds only its own addresses: bob's forgery of example.test is
      // submitted and signed as other.test (DMARC refuses it; test/integration/sender-authentication.test.ts).
      const bob = 'bob@other.test';
      const sent = await smtp({ user: bob, pass: passwordOf(info, bob) }).sendMail({
        envelope: { from: bob, to: [completion] },
        raw: raw(alice),
      });
      assert.deepEqual(sent.accepted, [completion]);
    },
  );

  await t.test('mail without AUTH is refused', async () => {
    // A sender address of the stack's domains belongs to a login; any other may not relay.
    await assert.rejects(
      smtp().sendMail({ from: alice, to: completion, text: 'x' }),
      refused(553, /not logged in/),
    );
    await assert.rejects(
      smtp().sendMail({ from: 'someone@elsewhere.test', to: completion, text: 'x' }),
      refused(554, /Recipient address rejected: Access denied/),
    );
  });

  await t.test('down stops every process of the stack and keeps the data', async () => {
    const pids = pidsOf(info);
    assert.ok(sessionMembers(pids).length > pids.length, 'the daemons have child processes before down');
    t0 = performance.now();
    await stackDown(opts);
    t.diagnostic(`down: ${since(t0)}`);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still alive`);
    assert.deepEqual(sessionMembers(pids), [], 'no process left in the daemons sessions');
    const status = await stackStatus(opts);
    assert.equal(status.running, false);
    assert.ok(status.services.every((s) => !s.alive));
    const state = JSON.parse(readFileSync(path.join(dir, 'stack.json'), 'utf8')) as {
      pids: object;
      accounts: unknown;
    };
    assert.deepEqual(state.pids, {});
    assert.deepEqual(state.accounts, info.accounts);
    assert.ok(existsSync(path.join(dir, 'temporal', 'temporal.db')));
  });
});
