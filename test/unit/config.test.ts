import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, configKeys, envNameFor, loadConfig, parseConfig } from '../../config/load';

const valid = {
  temporal: { address: '127.0.0.1:7233' },
  smtp: { host: 'smtp.example.test', port: 587, user: 'completion@example.test', password: 'smtp-pw' },
  imap: {
    host: 'imap.example.test',
    fromAddress: 'completion@example.test',
    user: 'completion@example.test',
    password: 'imap-pw',
  },
  signature: { secrets: ['hxO1mAkLp0q5tq3Q0Sg6y0bC7XvWmKNa9s3CSLqYbWs='] },
};

function withChange(change: (raw: Record<string, Record<string, unknown>>) => void): Record<string, unknown> {
  const raw = structuredClone(valid) as unknown as Record<string, Record<string, unknown>>;
  change(raw);
  return raw;
}

test('defaults fill what the file leaves out', () => {
  const config = parseConfig({ ...valid, temporal: undefined });
  assert.equal(config.temporal.address, '127.0.0.1:7233');
  assert.equal(config.temporal.namespace, 'default');
  assert.equal(config.temporal.taskQueue, 'remote-completion');
  assert.equal(config.temporal.maxCachedWorkflows, 200);
  assert.equal(config.remoteCompletion.syncInterval, 30_000);
  assert.equal(config.remoteCompletion.idleSyncInterval, 300_000);
  assert.equal(config.remoteCompletion.startupDelay, 30_000);
  assert.equal(config.imap.port, 993);
  assert.equal(config.imap.messageBudget, 10_000);
  assert.equal(config.whitelist.enabled, false);
  assert.equal(config.log.level, 'info');
});

const errors: [string, (raw: Record<string, Record<string, unknown>>) => void, string][] = [
  ['bad port', (r) => (r.imap!.port = 'abc'), 'imap.port: expected a number 1-65535, got "abc"'],
  ['port out of range', (r) => (r.smtp!.port = 70000), 'smtp.port: expected a number 1-65535'],
  [
    'missing host',
    (r) => delete r.imap!.host,
    'imap.host: missing: set it in the config file or REMOTE_COMPLETION_IMAP_HOST',
  ],
  ['missing section', (r) => delete r.signature, 'signature: missing'],
  [
    'bad address',
    (r) => (r.imap!.fromAddress = 'nobody'),
    'imap.fromAddress: expected an email address, got "nobody"',
  ],
  [
    'bad duration',
    (r) => (r.remoteCompletion = { syncInterval: 'soon' }),
    'remoteCompletion.syncInterval: expected a duration such as 30s',
  ],
  [
    'short secret',
    (r) => (r.signature!.secrets = ['a-secret-of-at-least-16-chars']),
    'signature.secrets.0: too weak: about 21 bytes of entropy, at least 32 needed: generate one with `openssl rand -base64 32`',
  ],
  [
    'repeated secret',
    (r) => (r.signature!.secrets = ['a-secret-of-'.repeat(6)]),
    'signature.secrets.0: too weak: it repeats itself: generate one with `openssl rand -base64 32`',
  ],
  [
    'secret in sequence',
    (r) => (r.signature!.secrets = ['abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ']),
    'signature.secrets.0: too weak: it runs in sequence',
  ],
  [
    'secret of words',
    (r) => (r.signature!.secrets = ['Correcthorsebatterystaplecorrecthorsebatterystaple']),
    'signature.secrets.0: too weak: it reads like words',
  ],
  [
    'SMTP password in clear to another host',
    (r) => (r.smtp!.requireTLS = false),
    'smtp.requireTLS: requireTLS is false, so the SMTP password could travel without TLS',
  ],
  [
    'IMAP password in clear to another host',
    (r) => (r.imap!.tls = false),
    'imap.tls: tls is false, so the IMAP password would travel without TLS',
  ],
  [
    'unknown sender authentication mode',
    (r) => (r.senderAuthentication = { mode: 'dkim' }),
    'senderAuthentication.mode: expected verify, authentication-results or off, got "dkim"',
  ],
  [
    'authentication-results without authserv-id',
    (r) => (r.senderAuthentication = { mode: 'authentication-results' }),
    'senderAuthentication.authservId: mode authentication-results needs senderAuthentication.authservId',
  ],
  [
    'DNS server without a port',
    (r) => (r.senderAuthentication = { dnsServers: ['127.0.0.1'] }),
    'senderAuthentication.dnsServers.0: expected an IP address and port',
  ],
  [
    'empty whitelist',
    (r) => (r.whitelist = { enabled: true, domains: [] }),
    'whitelist: whitelisting is enabled but no domains are listed',
  ],
  [
    'bad domain',
    (r) => (r.whitelist = { enabled: true, domains: ['not a domain'] }),
    'whitelist.domains.0: expected a domain',
  ],
  ['bad level', (r) => (r.log = { level: 'loud' }), 'log.level:'],
  ['typo in a key', (r) => (r.whitelist = { enable: true }), 'whitelist: unknown key(s) enable'],
  ['unknown section', (r) => (r.imapp = {}), '(root): unknown key(s) imapp'],
  [
    'zero interval',
    (r) => (r.remoteCompletion = { syncInterval: '0s' }),
    'remoteCompletion.syncInterval: expected at least 1s',
  ],
  [
    'message budget too short',
    (r) => (r.imap!.messageBudget = 500),
    'imap.messageBudget: expected at least 1s',
  ],
  [
    'message budget longer than a batch allows',
    (r) => (r.imap!.messageBudget = '1m'),
    'imap.messageBudget: expected at most 30s',
  ],
  [
    'short token lifetime',
    (r) => (r.remoteCompletion = { tokenLifetime: '30s' }),
    'remoteCompletion.tokenLifetime: expected at least 1m, got "30s"',
  ],
  [
    'token lifetime over a year',
    (r) => (r.remoteCompletion = { tokenLifetime: '99999999999w' }),
    'remoteCompletion.tokenLifetime: expected at most one year (1y), got "99999999999w"',
  ],
  [
    'sync interval over a year, in milliseconds',
    (r) => (r.remoteCompletion = { syncInterval: 1e12 }),
    'remoteCompletion.syncInterval: expected at most one year (1y)',
  ],
  [
    'duration without a unit',
    (r) => (r.remoteCompletion = { startupDelay: '30' }),
    'remoteCompletion.startupDelay: expected a duration such as 30s',
  ],
  [
    'half a client certificate',
    (r) => (r.temporal!.clientCert = 'cert.pem'),
    'temporal: set both clientCert and clientKey',
  ],
];
for (const [name, change, message] of errors) {
  test(`config error names the key: ${name}`, () => {
    assert.throws(
      () => parseConfig(withChange(change)),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.message.startsWith(message), `${err.message}\ndoes not start with\n${message}`);
        assert.doesNotMatch(err.message, /smtp-pw|imap-pw|a-secret-of|abcdefgh|Correcthorse/);
        return true;
      },
    );
  });
}

test('smtp.from: a bare address or one with a display name, read as its parts', () => {
  const cases: [unknown, { address: string; name?: string }][] = [
    ['bot@example.com', { address: 'bot@example.com' }],
    ['Release Bot <bot@example.com>', { address: 'bot@example.com', name: 'Release Bot' }],
    ['"Release Bot (prod)" <bot@example.com>', { address: 'bot@example.com', name: 'Release Bot (prod)' }],
    ['<bot@example.com>', { address: 'bot@example.com' }],
    [
      { address: 'bot@example.com', name: 'Bot' },
      { address: 'bot@example.com', name: 'Bot' },
    ],
  ];
  for (const [from, expected] of cases) {
    const config = parseConfig(withChange((r) => (r.smtp!.from = from)));
    assert.deepEqual(config.smtp.from, expected, JSON.stringify(from));
  }
  for (const bad of ['Release Bot', 'a@example.com, b@example.com', 'Bot <not-an-address>', '']) {
    assert.throws(
      () => parseConfig(withChange((r) => (r.smtp!.from = bad))),
      (err: Error) => err.message.startsWith('smtp.from: expected one email address, optionally with a name'),
      bad,
    );
  }
});

test('teams: named lists of members, bare or with names; none by default', () => {
  assert.deepEqual(parseConfig(valid).teams, {});
  const config = parseConfig({
    ...valid,
    teams: {
      'release-managers': ['Alice@Example.test', 'Carol <carol@example.test>'],
      ops: [{ address: 'bob@other.test', name: 'Bob' }],
    },
  });
  assert.deepEqual(config.teams, {
    'release-managers': [
      { address: 'alice@example.test', name: undefined },
      { address: 'carol@example.test', name: 'Carol' },
    ],
    ops: [{ address: 'bob@other.test', name: 'Bob' }],
  });
  // What the loader gives back is a valid config again (tests write configs for child processes).
  assert.deepEqual(
    parseConfig({ ...valid, teams: JSON.parse(JSON.stringify(config.teams)) }).teams,
    config.teams,
  );
});

test('teams: bad names, empty teams and bad members name the key', () => {
  const cases: [unknown, RegExp][] = [
    [{ 'release managers': ['a@example.test'] }, /^teams\.release managers: expected team names of letters/],
    [{ ops: [] }, /^teams\.ops: expected at least one member/],
    [{ ops: ['not-an-address'] }, /^teams\.ops: not an email address: "not-an-address"/],
    [{ ops: 'a@example.test' }, /^teams\.ops: expected a list of member addresses/],
    [['a@example.test'], /^teams: /],
  ];
  for (const [teams, message] of cases) {
    assert.throws(
      () => parseConfig({ ...valid, teams }),
      (err: Error) => {
        assert.match(err.message, message);
        return true;
      },
      JSON.stringify(teams),
    );
  }
  assert.ok(!configKeys().some((key) => key.startsWith('teams')), 'no environment variable per team');
});

test('environment variables override the file, with types coerced', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-config-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, JSON.stringify(valid));
  const config = loadConfig(file, {
    REMOTE_COMPLETION_IMAP_PORT: '1993',
    REMOTE_COMPLETION_IMAP_TLS: 'false',
    REMOTE_COMPLETION_IMAP_ALLOW_INSECURE_AUTH: 'true',
    REMOTE_COMPLETION_SIGNATURE_SECRETS:
      'V4u2xq9JzJm0hTeQyq8sPm1bR3cY7nqKfW2a4oXcLdE=,dO5HcJ8y1p7wzv3QkN2rT9uXa6sLmB4eF0gYiVbCqRw=',
    REMOTE_COMPLETION_REMOTE_COMPLETION_SYNC_INTERVAL: '5s',
    REMOTE_COMPLETION_WHITELIST_DOMAINS: 'example.test, *.other.test',
  });
  assert.equal(config.imap.port, 1993);
  assert.equal(config.imap.tls, false);
  assert.deepEqual(config.signature.secrets, [
    'V4u2xq9JzJm0hTeQyq8sPm1bR3cY7nqKfW2a4oXcLdE=',
    'dO5HcJ8y1p7wzv3QkN2rT9uXa6sLmB4eF0gYiVbCqRw=',
  ]);
  assert.equal(config.remoteCompletion.syncInterval, 5000);
  assert.deepEqual(config.whitelist.domains, ['example.test', '*.other.test']);
});

test('a missing or broken file gets a clear error', () => {
  assert.throws(
    () => loadConfig('/nonexistent/config.yaml', {}),
    /config file \/nonexistent\/config.yaml does not exist/,
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-config-'));
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(file, 'imap: [unclosed');
  assert.throws(() => loadConfig(file, {}), /is not valid YAML or JSON/);
});

test('every key has an environment variable name', () => {
  assert.ok(configKeys().includes('imap.fromAddress'));
  assert.equal(envNameFor('imap.fromAddress'), 'REMOTE_COMPLETION_IMAP_FROM_ADDRESS');
  assert.equal(envNameFor('temporal.taskQueue'), 'REMOTE_COMPLETION_TEMPORAL_TASK_QUEUE');
});

test('transport security: TLS by default; clear passwords only to loopback or when allowed', () => {
  const config = parseConfig(valid);
  assert.equal(config.smtp.requireTLS, true);
  assert.equal(config.smtp.allowInsecureAuth, false);
  for (const host of ['127.0.0.1', 'localhost', '::1']) {
    const local = parseConfig(withChange((r) => Object.assign(r.smtp!, { host, requireTLS: false })));
    assert.equal(local.smtp.requireTLS, false);
    parseConfig(withChange((r) => Object.assign(r.imap!, { host, tls: false })));
  }
  parseConfig(withChange((r) => Object.assign(r.smtp!, { requireTLS: false, allowInsecureAuth: true })));
  parseConfig(
    withChange((r) => Object.assign(r.smtp!, { requireTLS: false, user: undefined, password: undefined })),
  );
  parseConfig(withChange((r) => Object.assign(r.imap!, { tls: false, allowInsecureAuth: true })));
});

test('sender authentication: verify by default; settings read', () => {
  const config = parseConfig(valid);
  assert.deepEqual(config.senderAuthentication, {
    mode: 'verify',
    dnsServers: [],
    retryTemporaryErrorsFor: 6 * 3_600_000,
  });
  const set = parseConfig(
    withChange(
      (r) =>
        (r.senderAuthentication = {
          mode: 'authentication-results',
          authservId: 'mx.example.test',
          dnsServers: ['127.0.0.1:5353', '[::1]:53'],
          retryTemporaryErrorsFor: '1h',
        }),
    ),
  );
  assert.equal(set.senderAuthentication.authservId, 'mx.example.test');
  assert.deepEqual(set.senderAuthentication.dnsServers, ['127.0.0.1:5353', '[::1]:53']);
  assert.equal(set.senderAuthentication.retryTemporaryErrorsFor, 3_600_000);
});

test('a list in the file is never split on commas; only an environment variable is', () => {
  const withComma = `${'hxO1mAkLp0q5tq3Q0Sg6y0bC7XvWmKNa9s3CSLqYbWs='},${'V4u2xq9JzJm0hTeQyq8sPm1bR3cY7nqKfW2a4oXcLdE='}`;
  const config = parseConfig(withChange((r) => (r.signature!.secrets = [withComma])));
  assert.deepEqual(config.signature.secrets, [withComma]);
  const single = parseConfig(
    withChange(
      (r) => (r.signature!.secrets = 'dO5HcJ8y1p7wzv3QkN2rT9uXa6sLmB4eF0gYiVbCqRw=' as unknown as string[]),
    ),
  );
  assert.deepEqual(single.signature.secrets, ['dO5HcJ8y1p7wzv3QkN2rT9uXa6sLmB4eF0gYiVbCqRw=']);
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-config-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, JSON.stringify(valid));
  const fromEnv = loadConfig(file, {
    REMOTE_COMPLETION_SENDER_AUTHENTICATION_DNS_SERVERS: '127.0.0.1:53, 127.0.0.2:53',
  });
  assert.deepEqual(fromEnv.senderAuthentication.dnsServers, ['127.0.0.1:53', '127.0.0.2:53']);
});
