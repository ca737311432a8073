import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findTokens, keyring, signToken, verifyToken, type TokenClaims } from '../../domain/token';
import { assertWithinBudget, ONE_MB, repeatTo } from '../helpers/time-budget';

const keys = keyring(['newest-secret-0123456789', 'older-secret-0123456789']);
const claims: TokenClaims = {
  workflowId: 'remote-completion/deploy-42',
  runId: '0195f3a2-6c1e-7b0e-9d41-5c2a8e7f1b33',
  action: 'complete',
  recipient: 'alice@example.test',
  expiresAt: Date.UTC(2030, 0, 1),
};
const now = Date.UTC(2026, 10, 24);

test('a signed token verifies and gives back its claims', () => {
  const check = verifyToken(signToken(claims, keys), keys, now);
  assert.deepEqual(check, { ok: true, keyId: keys[0]!.id, claims });
});

test('the recipient is compared lower-case', () => {
  const check = verifyToken(signToken({ ...claims, recipient: 'Alice@Example.TEST' }, keys), keys, now);
  assert.equal(check.ok && check.claims.recipient, 'alice@example.test');
});

test('changing any field breaks the signature', () => {
  const token = signToken(claims, keys);
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
    assert.deepEqual(verifyToken(copy.join('.'), keys, now), { ok: false, reason: 'bad-signature' }, field);
  }
});

test('a token signed with a secret that is not configured is refused', () => {
  const foreign = signToken(claims, keyring(['someone-elses-secret-000']));
  assert.deepEqual(verifyToken(foreign, keys, now), { ok: false, reason: 'unknown-key' });
});

test('an expired token is refused', () => {
  assert.deepEqual(verifyToken(signToken(claims, keys), keys, claims.expiresAt + 1000), {
    ok: false,
    reason: 'expired',
  });
});

test('rotation: a token signed with the old secret still verifies while that secret is listed', () => {
  const oldToken = signToken(claims, keyring(['older-secret-0123456789']));
  const rotated = keyring(['brand-new-secret-0123456789', 'older-secret-0123456789']);
  assert.equal(verifyToken(oldToken, rotated, now).ok, true);
  assert.deepEqual(verifyToken(oldToken, keyring(['brand-new-secret-0123456789']), now), {
    ok: false,
    reason: 'unknown-key',
  });
  assert.equal(signToken(claims, rotated).split('.')[1], rotated[0]!.id, 'signs with the newest');
});

test('malformed tokens are refused without throwing', () => {
  for (const bad of [
    '',
    'rc1',
    'rc2.a.c.1.x.y.z',
    'rc1.abcdefgh.x.1.YQ.YQ.' + 'A'.repeat(43),
    'rc1.abcdefgh.c.1.YQ.YQ.short',
  ]) {
    assert.deepEqual(verifyToken(bad, keys, now), { ok: false, reason: 'malformed' }, bad);
  }
});

test('the MAC is compared in constant time (timingSafeEqual over equal-length buffers)', async () => {
  const source = (await import('node:fs')).readFileSync(require.resolve('../../domain/token'), 'utf8');
  assert.match(source, /timingSafeEqual\(expected, given\)/);
  assert.doesNotMatch(source, /givenMac\s*===|===\s*givenMac/);
});

test('findTokens picks tokens out of subjects and bodies', () => {
  const token = signToken(claims, keys);
  assert.deepEqual(findTokens(`Re: Complete task: Deploy [${token}]`), [token]);
  assert.deepEqual(findTokens(`> Token: ${token}\nToken: ${token}`), [token]);
  assert.deepEqual(findTokens('no token here rc1.abc'), []);
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
