import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, configKeys, loadConfig, parseConfig } from '../../config/load';
import {
  GOOGLE_SCOPE,
  GOOGLE_TOKEN_URL,
  MICROSOFT_APP_SCOPE,
  MICROSOFT_DELEGATED_SCOPE,
} from '../../config/mail-auth';

const CLIENT_SECRET = 'app-secret-value';
const REFRESH_TOKEN = 'refresh-token-value';

const base = () => ({
  smtp: { host: 'smtp.office365.com', port: 587, auth: 'imap' as unknown },
  imap: {
    host: 'outlook.office365.com',
    fromAddress: 'completion@example.com',
    user: 'completion@example.com',
    auth: {
      type: 'oauth2',
      provider: 'microsoft365',
      tenant: 'contoso.onmicrosoft.com',
      clientId: '00000000-1111-2222-3333-444444444444',
      clientSecret: CLIENT_SECRET,
    } as Record<string, unknown>,
  },
  signature: { secrets: ['hxO1mAkLp0q5tq3Q0Sg6y0bC7XvWmKNa9s3CSLqYbWs='] },
});

function configError(raw: Record<string, unknown>): string {
  try {
    parseConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.doesNotMatch(err.message, new RegExp(`${CLIENT_SECRET}|${REFRESH_TOKEN}`));
    return err.message;
  }
  assert.fail('expected a config error');
}

test('password stays the default: imap.user/password and smtp.user/password as before', () => {
  const config = parseConfig({
    ...base(),
    smtp: { host: 'smtp.example.com', user: 'completion@example.com', password: 'pw1' },
    imap: { host: 'imap.example.com', fromAddress: 'c@example.com', user: 'c@example.com', password: 'pw2' },
  });
  assert.deepEqual(config.imap.auth, { type: 'password' });
  assert.deepEqual(config.smtp.auth, { type: 'password' });
  assert.equal(config.imap.password, 'pw2');
  assert.equal(config.smtp.password, 'pw1');
});

test('microsoft365 with a client secret: client credentials, tenant token URL, the .default scope', () => {
  const config = parseConfig(base());
  assert.deepEqual(config.imap.auth, {
    type: 'oauth2',
    grant: 'client_credentials',
    tokenUrl: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    clientId: '00000000-1111-2222-3333-444444444444',
    clientSecret: CLIENT_SECRET,
    refreshToken: undefined,
    scope: MICROSOFT_APP_SCOPE,
  });
  // smtp.auth: imap sends with the IMAP login and its definition.
  assert.equal(config.smtp.user, 'completion@example.com');
  assert.equal(config.smtp.auth.type, 'oauth2');
  assert.equal(config.smtp.auth.type === 'oauth2' && config.smtp.auth.setting, 'imap.auth');
});

test('microsoft365 with a refresh token: delegated scopes with offline_access', () => {
  const raw = base();
  raw.imap.auth = { ...raw.imap.auth, clientSecret: undefined, refreshToken: REFRESH_TOKEN };
  const { auth } = parseConfig(raw).imap;
  assert.equal(auth.type === 'oauth2' && auth.grant, 'refresh_token');
  assert.equal(auth.type === 'oauth2' && auth.scope, MICROSOFT_DELEGATED_SCOPE);
  assert.match(MICROSOFT_DELEGATED_SCOPE, /IMAP\.AccessAsUser\.All .*SMTP\.Send offline_access/);
});

test('google: its token endpoint and the mail scope; a refresh token is required', () => {
  const raw = base();
  raw.imap.auth = {
    type: 'oauth2',
    provider: 'google',
    clientId: 'id.apps.googleusercontent.com',
    clientSecret: CLIENT_SECRET,
    refreshToken: REFRESH_TOKEN,
  };
  const { auth } = parseConfig(raw).imap;
  assert.equal(auth.type === 'oauth2' && auth.tokenUrl, GOOGLE_TOKEN_URL);
  assert.equal(auth.type === 'oauth2' && auth.scope, GOOGLE_SCOPE);
  raw.imap.auth = { ...raw.imap.auth, refreshToken: undefined };
  assert.match(configError(raw), /^imap\.auth\.refreshToken: provider google needs a refreshToken/);
});

test('OAuth2 config errors name the key and the fix', () => {
  const cases: [(raw: ReturnType<typeof base>) => void, RegExp][] = [
    [
      (r) => delete r.imap.auth.tenant,
      /^imap\.auth\.tenant: provider microsoft365 needs the directory \(tenant\) id/,
    ],
    [
      (r) => delete r.imap.auth.clientSecret,
      /^imap\.auth\.clientSecret: set clientSecret \(client credentials grant/,
    ],
    [
      (r) => delete r.imap.auth.clientId,
      /^imap\.auth\.clientId: missing: set it in the config file or REMOTE_COMPLETION_IMAP_AUTH_CLIENT_ID/,
    ],
    [
      (r) => (r.imap.auth = { type: 'oauth2', clientId: 'x', clientSecret: 's' }),
      /^imap\.auth\.tokenUrl: set tokenUrl, or provider: microsoft365 or google/,
    ],
    [
      (r) => (r.imap.auth.tokenUrl = 'http://login.example.com/token'),
      /^imap\.auth\.tokenUrl: expected an https:\/\/ URL/,
    ],
    [
      (r) => (r.imap.auth.provider = 'yahoo'),
      /^imap\.auth\.provider: expected microsoft365 or google, got "yahoo"/,
    ],
    [
      (r) => (r.imap.auth = { type: 'kerberos' }),
      /^imap\.auth(\.type)?: expected type: password or type: oauth2/,
    ],
    [
      (r) => (r.imap.auth = { type: 'password' }),
      /^imap\.password: missing: set it in the config file or REMOTE_COMPLETION_IMAP_PASSWORD, or use imap\.auth\.type: oauth2/,
    ],
    [
      (r) => (r.smtp = { host: 'smtp.example.com', auth: 'imap', user: 'other@example.com' } as never),
      /^smtp\.user: smtp\.auth is imap/,
    ],
    [
      (r) =>
        (r.smtp = {
          host: 'smtp.example.com',
          auth: { type: 'oauth2', tokenUrl: 'https://t.example.com/token', clientId: 'x', clientSecret: 's' },
        } as never),
      /^smtp\.user: smtp\.auth is oauth2: set smtp\.user/,
    ],
  ];
  for (const [change, message] of cases) {
    const raw = base();
    change(raw);
    assert.match(configError(raw), message);
  }
});

test('OAuth2 settings come from the environment too', () => {
  assert.ok(configKeys().includes('imap.auth.clientSecret'));
  assert.ok(configKeys().includes('smtp.auth.refreshToken'));
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-config-'));
  const file = path.join(dir, 'config.yaml');
  const raw = base();
  delete raw.imap.auth.clientSecret;
  writeFileSync(file, JSON.stringify(raw));
  const config = loadConfig(file, {
    REMOTE_COMPLETION_IMAP_AUTH_CLIENT_SECRET: 'from-the-environment',
    REMOTE_COMPLETION_SMTP_AUTH: 'imap',
  });
  assert.equal(config.imap.auth.type === 'oauth2' && config.imap.auth.clientSecret, 'from-the-environment');
  assert.equal(config.smtp.auth.type === 'oauth2' && config.smtp.auth.clientSecret, 'from-the-environment');
});
