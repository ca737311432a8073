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
  signature: { secrets: ['a-secret-of-at-least-16-chars'] },
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
  assert.equal(config.remoteCompletion.syncInterval, 30_000);
  assert.equal(config.remoteCompletion.startupDelay, 30_000);
  assert.equal(config.imap.port, 993);
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
    (r) => (r.signature!.secrets = ['short']),
    'signature.secrets.0: each secret needs at least 16 characters',
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
        assert.doesNotMatch(err.message, /smtp-pw|imap-pw|a-secret-of/);
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
    REMOTE_COMPLETION_SIGNATURE_SECRETS: 'new-secret-0123456789,old-secret-0123456789',
    REMOTE_COMPLETION_REMOTE_COMPLETION_SYNC_INTERVAL: '5s',
    REMOTE_COMPLETION_WHITELIST_DOMAINS: 'example.test, *.other.test',
  });
  assert.equal(config.imap.port, 1993);
  assert.equal(config.imap.tls, false);
  assert.deepEqual(config.signature.secrets, ['new-secret-0123456789', 'old-secret-0123456789']);
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
