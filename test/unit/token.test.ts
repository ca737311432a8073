import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTag } from '../../domain/run-tag';
import {
  findTokens,
  keyring,
  signToken,
  tokenAction,
  TOKEN_PATTERN,
  verifyToken,
  type TokenClaims,
  type TokenVersion,
} from '../../domain/token';
import { assertWithinBudget, ONE_MB, repeatTo } from '../helpers/time-budget';

const keys = keyring(['newest-secret-0123456789', 'older-secret-0123456789']);
const RUN = '0195f3a2-6c1e-7b0e-9d41-5c2a8e7f1b33';
const claims: TokenClaims = {
  workflowId: 'remote-completion/20261129-9c3f5143',
  runId: RUN,
  action: 'complete',
  recipient: 'alice@example.test',
  expiresAt: Date.UTC(2030, 0, 1),
};
const now = Date.UTC(2026, 10, 24);
const ALICE = 'alice@example.test';
const VERSIONS: TokenVersion[] = ['rc2', 'rc1'];

test('rc2 is the default: compact, with the task id readable and no base64 of the workflow id', () => {
  const token = signToken(claims, keys);
  assert.match(token, /^rc2\.20261129-9c3f5143\.[0-9a-f]{4}c[0-9a-z]+\.[A-Za-z0-9_-]{9}\.[A-Za-z0-9_-]{22}$/);
  assert.equal(token.length, 66);
  assert.ok(signToken(claims, keys, 'rc1').length > 180, 'rc1 for comparison');
  const subject = `Complete task: ${'x'.repeat(40)} [${token}]`;
  assert.ok(subject.length < 130, `${subject.length} characters`);
});

test('a signed token verifies for its recipient and gives back its claims, in both versions', () => {
  const rc2 = verifyToken(signToken(claims, keys), keys, now, ALICE);
  assert.deepEqual(rc2, {
    ok: true,
    keyId: keys[0]!.id,
    claims: {
      version: 'rc2',
      workflowId: claims.workflowId,
      runTag: runTag(RUN),
      action: 'complete',
      recipient: ALICE,
      expiresAt: claims.expiresAt,
    },
  });
  const rc1 = verifyToken(signToken(claims, keys, 'rc1'), keys, now, ALICE);
  assert.deepEqual(rc1, {
    ok: true,
    keyId: keys[0]!.id,
    claims: { version: 'rc1', ...claims, runTag: runTag(RUN) },
  });
});

test('rc2 falls back to rc1 for a workflow id that is not remote-completion/<task id>', () => {
  for (const workflowId of [
    'my-approval',
    'remote-completion/has space',
    `remote-completion/${'a'.repeat(101)}`,
  ]) {
    const token = signToken({ ...claims, workflowId }, keys);
    assert.ok(token.startsWith('rc1.'), workflowId);
    const check = verifyToken(token, keys, now, ALICE);
    assert.equal(check.ok && check.claims.workflowId, workflowId);
  }
});

test('task ids with dots, dashes and underscores, 1 to 100 characters, survive the round trip', () => {
  for (const taskId of [
    'a',
    'release-2026.11_prod',
    'x.y.z',
    '9',
    'a.',
    `A${'.'.repeat(99)}`,
    'T'.repeat(100),
  ]) {
    const token = signToken({ ...claims, workflowId: `remote-completion/${taskId}` }, keys);
    assert.ok(token.startsWith(`rc2.${taskId}.`), taskId);
    assert.deepEqual(findTokens(`Complete task: x [${token}]`), [token], taskId);
    const check = verifyToken(token, keys, now, ALICE);
    assert.equal(check.ok && check.claims.workflowId, `remote-completion/${taskId}`, taskId);
  }
});

test('the recipient is compared lower-case', () => {
  for (const version of VERSIONS) {
    const token = signToken({ ...claims, recipient: 'Alice@Example.TEST' }, keys, version);
    const check = verifyToken(token, keys, now, 'ALICE@example.test');
    assert.equal(check.ok && check.claims.recipient, ALICE, version);
  }
});

test('another sender: sender-mismatch (rc1 names the recipient, rc2 cannot)', () => {
  assert.deepEqual(verifyToken(signToken(claims, keys), keys, now, 'carol@example.test'), {
    ok: false,
    reason: 'sender-mismatch',
  });
  assert.deepEqual(verifyToken(signToken(claims, keys, 'rc1'), keys, now, 'carol@example.test'), {
    ok: false,
    reason: 'sender-mismatch',
    issuedTo: ALICE,
  });
  for (const version of VERSIONS) {
    const check = verifyToken(signToken(claims, keys, version), keys, now, undefined);
    assert.equal(!check.ok && check.reason, 'sender-mismatch', version);
  }
});

test('rc2: changing any field breaks the signature', () => {
  const token = signToken(claims, keys);
  const mac = token.slice(token.lastIndexOf('.') + 1);
  const binding = token.split('.').at(-2)!;
  const header = token.split('.').at(-3)!;
  const swap = (s: string, i: number) => `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
  const tampered: [string, string][] = [
    ['task id', token.replace('9c3f5143', '9c3f5144')],
    ['action', token.replace(`${header}.`, `${header.slice(0, 4)}f${header.slice(5)}.`)],
    ['expiry', token.replace(`${header}.`, `${header.slice(0, -1)}${header.endsWith('z') ? 'y' : 'z'}.`)],
    ['run tag', token.replace(`.${binding}.`, `.${swap(binding, 0)}.`)],
    ['recipient tag', token.replace(`.${binding}.`, `.${swap(binding, 7)}.`)],
    ['mac', token.replace(mac, swap(mac, 3))],
  ];
  for (const [field, copy] of tampered) {
    assert.notEqual(copy, token, field);
    const check = verifyToken(copy, keys, now, ALICE);
    assert.equal(check.ok, false, field);
    assert.ok(!check.ok && ['bad-signature', 'sender-mismatch'].includes(check.reason), field);
  }
  // The recipient tag is intact: an altered token from its recipient is a bad signature.
  assert.deepEqual(verifyToken(token.replace(mac, swap(mac, 3)), keys, now, ALICE), {
    ok: false,
    reason: 'bad-signature',
  });
});

test('rc2: the run is bound by its tag, different for every run id', () => {
  const check = verifyToken(signToken(claims, keys), keys, now, ALICE);
  assert.equal(check.ok && check.claims.runTag, runTag(RUN));
  assert.notEqual(runTag(RUN), runTag('0195f3a2-6c1e-7b0e-9d41-5c2a8e7f1b34'));
  const tags = new Set(Array.from({ length: 10_000 }, (_, i) => runTag(`run-${i}`)));
  assert.equal(tags.size, 10_000, 'no collision among 10,000 run ids');
  assert.match(runTag(RUN), /^[A-Za-z0-9_-]{6}$/);
});

test('rc1: changing any field breaks the signature', () => {
  const token = signToken(claims, keys, 'rc1');
  const parts = token.split('.');
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  const tampered: [string, number, string][] = [
    ['action', 2, 'f'],
    ['expiry', 3, (Number.parseInt(parts[3]!, 36) + 1).toString(36)],
    ['workflow id', 4, b64('remote-completion/deploy-43')],
    ['run id', 5, b64('0195f3a2-6c1e-7b0e-9d41-5c2a8e7f1b34')],
    ['recipient', 6, b64('mallory@example.test')],
    ['mac', 7, `${parts[7]!.slice(0, -1)}${parts[7]!.endsWith('A') ? 'B' : 'A'}`],
  ];
  for (const [field, index, value] of tampered) {
    const copy = [...parts];
    copy[index] = value;
    assert.deepEqual(
      verifyToken(copy.join('.'), keys, now, ALICE),
      { ok: false, reason: 'bad-signature' },
      field,
    );
  }
});

test('a token signed with a secret that is not configured is refused', () => {
  for (const version of VERSIONS) {
    const foreign = signToken(claims, keyring(['someone-elses-secret-000']), version);
    assert.deepEqual(verifyToken(foreign, keys, now, ALICE), { ok: false, reason: 'unknown-key' }, version);
  }
});

test('an expired token is refused', () => {
  for (const version of VERSIONS) {
    assert.deepEqual(
      verifyToken(signToken(claims, keys, version), keys, claims.expiresAt + 1000, ALICE),
      { ok: false, reason: 'expired' },
      version,
    );
  }
});

test('rotation: a token signed with the old secret still verifies while that secret is listed', () => {
  const rotated = keyring(['brand-new-secret-0123456789', 'older-secret-0123456789']);
  for (const version of VERSIONS) {
    const oldToken = signToken(claims, keyring(['older-secret-0123456789']), version);
    assert.equal(verifyToken(oldToken, rotated, now, ALICE).ok, true, version);
    assert.deepEqual(
      verifyToken(oldToken, keyring(['brand-new-secret-0123456789']), now, ALICE),
      { ok: false, reason: 'unknown-key' },
      version,
    );
  }
  assert.equal(signToken(claims, rotated, 'rc1').split('.')[1], rotated[0]!.id, 'signs with the newest');
  assert.ok(signToken(claims, rotated).split('.')[2]!.startsWith(rotated[0]!.id.slice(0, 4)));
});

test('rc2: two secrets whose key ids share the first four digits both verify', () => {
  const all = keyring(Array.from({ length: 2000 }, (_, i) => `rotation-secret-${i}-0123456789`));
  const byPrefix = new Map<string, string[]>();
  for (const k of all) byPrefix.set(k.id.slice(0, 4), [...(byPrefix.get(k.id.slice(0, 4)) ?? []), k.secret]);
  const pair = [...byPrefix.values()].find((secrets) => secrets.length > 1)!;
  assert.ok(pair, 'some pair of 2,000 secrets shares a prefix');
  const configured = keyring(pair);
  for (const secret of pair) {
    const token = signToken(claims, keyring([secret]));
    assert.equal(verifyToken(token, configured, now, ALICE).ok, true);
  }
});

test('malformed tokens are refused without throwing', () => {
  for (const bad of [
    '',
    'rc1',
    'rc2',
    'rc3.a.c.1.x.y.z',
    'rc1.abcdefgh.x.1.YQ.YQ.' + 'A'.repeat(43),
    'rc1.abcdefgh.c.1.YQ.YQ.short',
    'rc2.task.abcdc1.AAAAAAAAA.short',
    'rc2.task.abcdx1.AAAAAAAAA.' + 'A'.repeat(22),
    'rc2..abcdc1.AAAAAAAAA.' + 'A'.repeat(22),
    `rc2.${'a'.repeat(101)}.abcdc1.AAAAAAAAA.${'A'.repeat(22)}`,
  ]) {
    assert.deepEqual(verifyToken(bad, keys, now, ALICE), { ok: false, reason: 'malformed' }, bad);
  }
});

test('the MAC is compared in constant time (timingSafeEqual over equal-length buffers)', async () => {
  const source = (await import('node:fs')).readFileSync(require.resolve('../../domain/token'), 'utf8');
  assert.match(source, /timingSafeEqual\(expected, given\)/);
  assert.doesNotMatch(source, /(givenMac|parts\.mac)\s*===|===\s*(givenMac|parts\.mac)/);
});

test('findTokens picks tokens of both versions out of subjects and bodies', () => {
  for (const version of VERSIONS) {
    const token = signToken(claims, keys, version);
    assert.deepEqual(findTokens(`Re: Complete task: Deploy [${token}]`), [token]);
    assert.deepEqual(findTokens(`> Token: ${token}\nToken: ${token}.`), [token]);
    assert.equal(tokenAction(token), 'complete');
  }
  assert.deepEqual(findTokens('no token here rc1.abc rc2.abc'), []);
  assert.equal(tokenAction('rc2.no'), undefined);
});

test('TOKEN_PATTERN stays linear on adversarial text (1 MB, bounded repetitions)', () => {
  const token = signToken(claims, keys);
  const inputs = [
    'rc2.'.repeat(250_000),
    `rc2.${'a.'.repeat(500_000)}`,
    `rc1.abcdef12.c.${'A'.repeat(1_000_000)}`,
    `${token.slice(0, -1)}`.repeat(15_000),
    `rc2.${'a'.repeat(99)}.0000c1.`.repeat(8_000),
  ];
  for (const text of inputs) {
    const started = process.hrtime.bigint();
    text.match(TOKEN_PATTERN);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // A budget, not a benchmark: a super-linear pattern takes minutes here, a linear one milliseconds.
    assert.ok(ms < 5_000, `${text.slice(0, 20)}…: ${ms} ms`);
  }
});

const nearMiss = `rc1.abcdefgh.c.1.${'A'.repeat(400)}.${'B'.repeat(100)}.${'C'.repeat(400)}.${'D'.repeat(42)} `;
const adversarial: [string, string][] = [
  ['tokens one character short', repeatTo(nearMiss, ONE_MB)],
  ['token prefixes', repeatTo('rc1.', ONE_MB)],
  ['token heads', repeatTo('rc1.abcdefgh.c.1.', ONE_MB)],
  ['one endless field', `rc1.abcdefgh.c.1.${'A'.repeat(ONE_MB)}`],
  ['short fields', repeatTo('rc1.abcdefgh.c.1.A.', ONE_MB)],
];
for (const [name, text] of adversarial) {
  test(`findTokens runs in linear time: 1 MB of ${name}`, () => {
    assertWithinBudget(name, () => findTokens(text));
    assert.deepEqual(findTokens(text), []);
  });
}
