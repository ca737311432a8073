/**
 * OAuth2 against the test stack's real authorization server (oidc-provider), Dovecot's oauth2
 * passdb (token introspection) and Postfix's SMTP AUTH through Dovecot: a whole task by email with
 * tokens only, the delegated (refresh token) grant with a server that rotates refresh tokens, and
 * both SASL mechanisms on the wire.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { closeImap, openImap } from '../../mail/imap';
import { oauth2TokenSource } from '../../mail/oauth2-token';
import { createSmtpTransport } from '../../mail/smtp';
import type { Config } from '../../config/schema';
import {
  clearInbox,
  COMPLETION,
  eventually,
  logLines,
  startAndComplete,
  startWorker,
  taskClient,
  testConfig,
  testLogger,
  triggeredSyncsOnly,
  unique,
  waitForMail,
} from '../helpers/env';
import { issueRefreshToken, oauth2Settings, registerClient, tokenUrl, withOAuth2 } from '../helpers/oauth2';

const ALICE = 'alice@example.test';

describe('OAuth2 on both sides', () => {
  test('a task by email: request sent over SMTP and reply read over IMAP (IDLE too) with client credentials tokens', async () => {
    const app = await registerClient({ mailbox: COMPLETION });
    const config = withOAuth2(
      testConfig((c) => {
        triggeredSyncsOnly(c);
        c.imap.idle = true; // the watcher logs in with a token; its push starts the sync
        c.log.mailDebug = true; // the protocol trace must not show the tokens either (secrets scan)
      }),
      oauth2Settings(app),
    );
    assert.equal(config.imap.password, undefined);
    assert.equal(config.smtp.password, undefined);
    await Promise.all([clearInbox(config, COMPLETION), clearInbox(config, ALICE)]);
    const worker = await startWorker(config, testLogger('oauth2-cycle'));
    try {
      await eventually('the IDLE watcher, logged in with a token', () =>
        Promise.resolve(logLines('oauth2-cycle', { msg: 'watching INBOX with IMAP IDLE' }).length > 0),
      );
      const tasks = await taskClient(config);
      const taskId = await startAndComplete(config, tasks, 'Approve with OAuth2', 'token says yes');
      const result = await tasks.waitForResult(taskId, 30_000);
      assert.equal(result.outcome, 'completed');
      assert.equal(result.decidedBy, ALICE);
      assert.equal(result.comment, 'token says yes');
      await waitForMail(
        config,
        ALICE,
        (m) => /completed/i.test(m.subject ?? '') && (m.text ?? '').includes(taskId),
      );
    } finally {
      await worker.shutdown();
    }
  });

  test('delegated access: refresh token grant; a rotated refresh token is kept for the next refreshes', async () => {
    // Tokens live 2 s; the server replaces the refresh token at each use and refuses a used one.
    const app = await registerClient({ tokenTtl: 2, rotateRefreshToken: true });
    const refreshToken = await issueRefreshToken(app, COMPLETION);
    const config = withOAuth2(testConfig(), oauth2Settings(app, refreshToken));
    const log = testLogger('oauth2-delegated');
    for (let login = 0; login < 3; login++) {
      // Each login after the first needs a new access token: a refresh with the latest refresh token.
      if (login > 0) await sleep(2_500);
      await closeImap(await openImap(config.imap, { log }));
    }
    const auth = config.imap.auth;
    assert.ok(auth.type === 'oauth2');
    assert.equal(oauth2TokenSource(auth, 'imap.auth').rotated, true);
    const rotations = logLines('oauth2-delegated', { setting: 'imap.auth.refreshToken' });
    assert.equal(rotations.length, 1, 'the rotation is logged once, without the token');
    assert.match(String(rotations[0]?.msg), /replaced the refresh token of imap\.auth/);

    await sleep(2_500);
    const subject = unique('delegated send');
    const transport = createSmtpTransport(config.smtp, log);
    try {
      await transport.sendMail({ from: COMPLETION, to: ALICE, subject, text: 'sent with a refreshed token' });
    } finally {
      transport.close();
    }
    await waitForMail(config, ALICE, (m) => m.subject === subject);
  });

  test('Dovecot takes XOAUTH2 and OAUTHBEARER; a token opens only its own mailbox', async () => {
    const app = await registerClient({ mailbox: COMPLETION });
    const config = testConfig();
    const token = await clientCredentialsToken(app.clientId, app.clientSecret);
    const xoauth2 = (user: string) =>
      Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');
    const oauthbearer = (user: string) =>
      Buffer.from(`n,a=${user},\x01auth=Bearer ${token}\x01\x01`).toString('base64');
    assert.match(await imapAuthenticate(config, `XOAUTH2 ${xoauth2(COMPLETION)}`), /^a OK /);
    assert.match(await imapAuthenticate(config, `OAUTHBEARER ${oauthbearer(COMPLETION)}`), /^a OK /);
    assert.match(await imapAuthenticate(config, `XOAUTH2 ${xoauth2(ALICE)}`), /^a NO /);
    assert.match(await imapAuthenticate(config, `OAUTHBEARER ${oauthbearer(ALICE)}`), /^a NO /);
  });
});

async function clientCredentialsToken(clientId: string, clientSecret: string): Promise<string> {
  const response = await fetch(tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
  const { access_token } = (await response.json()) as { access_token: string };
  return access_token;
}

/**
 * One `a AUTHENTICATE <mechanism> <initial response>` on a raw IMAPS connection; returns the tagged
 * reply. A refusal comes as a `+` challenge with the error first, answered by an empty line (XOAUTH2)
 * or \x01 (OAUTHBEARER).
 */
function imapAuthenticate(config: Config, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: config.imap.host,
      port: config.imap.port,
      ca: config.imap.ca ? readFileSync(config.imap.ca) : undefined,
    });
    let buffer = '';
    let sent = false;
    socket.setEncoding('utf8');
    socket.setTimeout(15_000, () => socket.destroy(new Error('no IMAP answer within 15 s')));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!sent && line.startsWith('* OK')) {
          sent = true;
          socket.write(`a AUTHENTICATE ${command}\r\n`);
        } else if (line.startsWith('+')) {
          socket.write(command.startsWith('OAUTHBEARER') ? 'AQ==\r\n' : '\r\n');
        } else if (line.startsWith('a ')) {
          socket.end('b LOGOUT\r\n');
          resolve(line);
        }
      }
    });
    socket.on('error', reject);
  });
}
