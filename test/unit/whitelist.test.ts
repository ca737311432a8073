import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isWhitelisted, whitelistViolation } from '../../domain/whitelist';

const cases: [address: string, domains: string[], expected: boolean][] = [
  ['alice@example.com', ['example.com'], true],
  ['Alice@EXAMPLE.com', ['Example.COM'], true],
  ['alice@example.com.', ['example.com'], true],
  ['alice@eu.example.com', ['example.com'], false],
  ['alice@example.com.evil.test', ['example.com'], false],
  ['alice@notexample.com', ['example.com'], false],
  ['alice@eu.example.com', ['*.example.com'], true],
  ['alice@a.b.example.com', ['*.example.com'], true],
  ['alice@example.com', ['*.example.com'], false],
  ['alice@badexample.com', ['*.example.com'], false],
  ['alice@example.com', ['*.example.com', 'example.com'], true],
  ['"a@example.com"@evil.test', ['example.com'], false],
  ['alice', ['alice'], false],
  ['alice@', [''], false],
  ['alice@example.com', [], false],
];

for (const [address, domains, expected] of cases) {
  void test(`isWhitelisted(${address}, [${domains.join(', ')}]) is ${expected}`, () => {
    assert.equal(isWhitelisted(address, domains), expected);
  });
}

void test('whitelistViolation checks the sender, then every To and Cc recipient', () => {
  const domains = ['example.test', '*.example.test'];
  const mail = { from: { address: 'alice@eu.example.test' }, to: ['completion@example.test'], cc: [] };
  assert.equal(whitelistViolation(mail, domains), undefined);
  assert.equal(whitelistViolation({ ...mail, from: undefined }, domains), 'the mail has no sender address');
  assert.equal(
    whitelistViolation({ ...mail, from: { address: 'bob@other.test' } }, domains),
    'sender bob@other.test is not in a whitelisted domain',
  );
  assert.equal(
    whitelistViolation({ ...mail, cc: ['eve@evil.test'] }, domains),
    'recipient eve@evil.test is not in a whitelisted domain',
  );
  assert.equal(
    whitelistViolation({ ...mail, to: ['completion@example.test', 'x@other.test'] }, domains),
    'recipient x@other.test is not in a whitelisted domain',
  );
});
