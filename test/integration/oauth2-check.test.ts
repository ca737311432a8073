/**
 * `remote-completion check` with OAuth2: it gets a token, logs in to IMAP and SMTP with it, and
 * names the step that fails (token endpoint unreachable, invalid_client, invalid_grant, login
 * refused) with the fix.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runChecks, type CheckResult } from '../../cli/config-check';
import { repoRoot } from '../../dev/stack';
import { COMPLETION, testConfig, testLogger } from '../helpers/env';
import {
  issueRefreshToken,
  oauth2Settings,
  registerClient,
  tokenUrl,
  withOAuth2,
  writeOAuth2ConfigFile,
} from '../helpers/oauth2';

const log = testLogger('oauth2-check');

/** The check lines of one part (`oauth2`, `imap`, `smtp`). */
const lines = (results: CheckResult[], name: string) => results.filter((r) => r.name === name);

async function checkWith(settings: Record<string, unknown>): Promise<CheckResult[]> {
  const config = withOAuth2(testConfig(), settings);
  return (await runChecks(config, { log })).filter((r) => r.name !== 'temporal' && r.name !== 'config');
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function runCheckCli(configFile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('REMOTE_COMPLETION_') || key === 'REMOTE_COMPLETION_TEST_STACK',
    ),
  );
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [path.join(repoRoot(), 'bin', 'remote-completion.js'), 'check', '--config', configFile],
      { cwd: repoRoot(), env, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('check with OAuth2', () => {
  test('the command: a token, then IMAP and SMTP logins with it; a revoked secret names invalid_client and the fix', async () => {
    const app = await registerClient({ mailbox: COMPLETION });
    const settings = oauth2Settings(app);
    const file = writeOAuth2ConfigFile(testConfig(), settings);
    const good = await runCheckCli(file);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(
      good.stdout,
      new RegExp(
        `^ok +oauth2 +imap\\.auth: token from ${tokenUrl} for client ${app.clientId} \\(client credentials grant, scope mail\\)$`,
        'm',
      ),
    );
    assert.match(
      good.stdout,
      /^ok +imap +logged in as completion@example\.test at .* with an OAuth2 token, INBOX selectable$/m,
    );
    assert.match(good.stdout, /^ok +smtp +connected to .*, XOAUTH2 as completion@example\.test accepted$/m);

    const revoked = randomBytes(24).toString('base64url');
    await app.setSecret(revoked); // the configured secret is no longer the app's
    const bad = await runCheckCli(file);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      new RegExp(
        `^problem +oauth2 +imap\\.auth: OAuth2 token request for client ${app.clientId} at ${tokenUrl} refused: invalid_client \\(the client id or secret is wrong, expired or revoked\\).*; fix: set imap\\.auth\\.clientId and a current imap\\.auth\\.clientSecret`,
        'm',
      ),
    );
    assert.match(
      bad.stdout,
      /^problem +imap +no OAuth2 token for IMAP: .*invalid_client.*; fix: set imap\.auth\.clientId/m,
    );
    assert.match(
      bad.stdout,
      /^problem +smtp +no OAuth2 token for SMTP: .*invalid_client.*; fix: set imap\.auth\.clientId/m,
    );
    for (const secret of [app.clientSecret, revoked])
      assert.ok(
        !(bad.stdout + bad.stderr + good.stdout + good.stderr).includes(secret),
        'a secret in the output',
      );
  });

  test('token endpoint unreachable', async () => {
    const app = await registerClient({ mailbox: COMPLETION });
    const results = await checkWith({
      ...oauth2Settings(app),
      tokenUrl: `http://127.0.0.1:${await closedPort()}/token`,
    });
    const [oauth2] = lines(results, 'oauth2');
    assert.equal(oauth2?.ok, false);
    assert.match(
      oauth2.detail,
      /^imap\.auth: OAuth2 token endpoint http:\/\/127\.0\.0\.1:\d+\/token unreachable \(ECONNREFUSED\)$/,
    );
    assert.match(oauth2.fix!, /^check imap\.auth\.tokenUrl/);
    assert.equal(lines(results, 'imap')[0]?.ok, false);
  });

  test('refresh token revoked or expired: invalid_grant', async () => {
    const app = await registerClient();
    const results = await checkWith(oauth2Settings(app, `not-issued-${randomBytes(8).toString('hex')}`));
    const [oauth2] = lines(results, 'oauth2');
    assert.equal(oauth2?.ok, false);
    assert.match(
      oauth2.detail,
      /refused: invalid_grant \(the refresh token expired, was revoked or was replaced\)/,
    );
    assert.match(oauth2.fix!, /^get a new refresh token \(consent again\) and set imap\.auth\.refreshToken$/);
  });

  test('a valid token the mail servers refuse: login refused, named per server', async () => {
    // The app was granted another mailbox than imap.user.
    const app = await registerClient({ mailbox: 'alice@example.test' });
    const results = await checkWith(oauth2Settings(app));
    assert.equal(lines(results, 'oauth2')[0]?.ok, true, 'the token itself comes');
    const [imap] = lines(results, 'imap');
    assert.equal(imap?.ok, false);
    assert.match(
      imap.detail,
      /refused the OAuth2 token for completion@example\.test \(a fresh one too\): the app may not open this mailbox$/,
    );
    assert.match(imap.fix!, /IMAP\.AccessAsApp .* service principal .* mailbox permission/);
    const [smtp] = lines(results, 'smtp');
    assert.equal(smtp?.ok, false);
    assert.match(
      smtp.detail,
      /refused the OAuth2 token for completion@example\.test \(a fresh one too\) \(535 /,
    );
    assert.match(smtp.fix!, /SMTP\.SendAsApp/);
  });

  test('delegated access checks out with a refresh token', async () => {
    const app = await registerClient();
    const results = await checkWith(oauth2Settings(app, await issueRefreshToken(app, COMPLETION)));
    assert.deepEqual(
      results.filter((r) => !r.ok),
      [],
    );
    assert.match(lines(results, 'oauth2')[0]!.detail, /\(refresh token grant, scope mail\)$/);
  });
});
