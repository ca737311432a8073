import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asciiLowerCase } from '../../domain/ascii-case';
import {
  authservIdOf,
  headerFields,
  MAX_AUTHENTICATION_RESULTS_LENGTH,
  MAX_FROM_LENGTH,
  parseAuthenticationResults,
  singleFromMailbox,
  trustedAuthenticationResults,
  verdictFromAuthenticationResults,
  verdictFromMailauth,
  type DkimSignatureCheck,
  type MailauthReport,
} from '../../domain/sender-authentication';
import { isWhitelisted } from '../../domain/whitelist';

const KELVIN = '\u212A';
const message = (...headers: string[]) =>
  [...headers, '', 'From: body@text.test is no header', ''].join('\r\n');
const fromOf = (...headers: string[]) => singleFromMailbox(headerFields(message(...headers)));

test('ASCII-only lower-casing: the Kelvin sign stays what it is', () => {
  assert.equal(asciiLowerCase('ALICE@Example.TEST'), 'alice@example.test');
  assert.equal(`${KELVIN}ate@example.test`.toLowerCase(), 'kate@example.test', 'what toLowerCase does');
  assert.equal(asciiLowerCase(`${KELVIN}ate@example.test`), `${KELVIN}ate@example.test`);
  assert.equal(isWhitelisted(`a@${KELVIN}k.test`, ['kk.test']), false);
  assert.equal(isWhitelisted('a@KK.TEST', ['kk.test']), true);
});

test('header fields: every occurrence, names in any case, unfolded, body excluded', () => {
  const fields = headerFields(message('From: Alice', '  <alice@example.test>', 'SUBJECT: hi', 'x-a: 1'));
  assert.deepEqual(
    fields.map((f) => [f.name, f.value]),
    [
      ['from', ' Alice   <alice@example.test>'],
      ['subject', ' hi'],
      ['x-a', ' 1'],
    ],
  );
  assert.deepEqual(
    headerFields('from: a@b.test\nFrom : c@d.test\n\nFrom: e@f.test').map((f) => f.name),
    ['from', 'from'],
  );
});

test('one From header with one mailbox is the sender', () => {
  assert.deepEqual(fromOf('From: "Alice A." <Alice@Example.TEST>'), { address: 'alice@example.test' });
  assert.deepEqual(fromOf('From: alice@example.test (Alice)'), { address: 'alice@example.test' });
  assert.deepEqual(fromOf('From: "alice@example.test" <mallory@evil.test>'), {
    address: 'mallory@evil.test',
  });
  assert.deepEqual(fromOf(`From: ${KELVIN}ate@example.test`), { address: `${KELVIN}ate@example.test` });
});

test('every other From shape is refused', () => {
  const cases: [string[], RegExp][] = [
    [['From: alice@example.test, evil@attacker.test'], /names 2 mailboxes/],
    [['From: alice@example.test', 'From: evil@attacker.test'], /2 From headers/],
    [['from: alice@example.test', 'FROM: evil@attacker.test'], /2 From headers/],
    [['From: alice@example.test', 'fRoM: alice@example.test'], /2 From headers/],
    [['From: team: alice@example.test;'], /is a group/],
    [['From: undisclosed-recipients:;'], /is a group/],
    [['Subject: no sender'], /no From header/],
    [['From: '], /names 0 mailboxes/],
    [['From: Alice'], /holds no address/],
    [[`From: ${'a'.repeat(MAX_FROM_LENGTH)}@example.test`], /longer than 4096/],
  ];
  for (const [headers, problem] of cases) {
    const result = fromOf(...headers);
    assert.ok('problem' in result, `${headers.join(' | ')} was accepted`);
    assert.match(result.problem, problem, headers.join(' | '));
  }
});

const signature = (fields: Partial<DkimSignatureCheck> = {}): DkimSignatureCheck => ({
  signingDomain: 'example.test',
  result: 'pass',
  aligned: true,
  partialBody: false,
  ...fields,
});
const report = (fields: Partial<MailauthReport> = {}): MailauthReport => ({
  headerFrom: ['alice@example.test'],
  dkim: [signature()],
  dmarc: { result: 'pass', policy: 'reject' },
  ...fields,
});
const ALICE = 'alice@example.test';

test('verify: DMARC pass authenticates the From domain', () => {
  const verdict = verdictFromMailauth(report(), ALICE);
  assert.equal(verdict.status, 'pass');
  assert.equal(
    verdict.summary,
    'dmarc=pass (p=reject) header.from=example.test; dkim=pass d=example.test aligned',
  );
});

test('verify: what does not authenticate the From domain', () => {
  const cases: [string, MailauthReport, 'fail' | 'temperror'][] = [
    ['DMARC fail', report({ dmarc: { result: 'fail', policy: 'reject' }, dkim: [] }), 'fail'],
    [
      'a valid signature of another domain',
      report({
        dmarc: { result: 'fail' },
        dkim: [signature({ signingDomain: 'other.test', aligned: false })],
      }),
      'fail',
    ],
    ['no DMARC verdict', report({ dmarc: false }), 'fail'],
    ['the checker read another From', report({ headerFrom: ['evil@attacker.test'] }), 'fail'],
    ['the checker read two From', report({ headerFrom: [ALICE, 'evil@attacker.test'] }), 'fail'],
    [
      'DMARC pass on a partial body (l=)',
      report({ dmarc: { result: 'pass', alignedPartialBody: true } }),
      'fail',
    ],
    ['no DMARC record and no signature', report({ dmarc: { result: 'none' }, dkim: [] }), 'fail'],
    [
      'no DMARC record, aligned signature fails',
      report({ dmarc: { result: 'none' }, dkim: [signature({ result: 'fail' })] }),
      'fail',
    ],
    [
      'no DMARC record, aligned signature on a partial body',
      report({ dmarc: { result: 'none' }, dkim: [signature({ partialBody: true })] }),
      'fail',
    ],
    [
      'DMARC record lookup failed',
      report({ dmarc: { result: 'temperror', error: 'ETIMEOUT' } }),
      'temperror',
    ],
    [
      'DMARC fail because the aligned key could not be fetched',
      report({ dmarc: { result: 'fail' }, dkim: [signature({ result: 'temperror' })] }),
      'temperror',
    ],
  ];
  for (const [name, input, status] of cases)
    assert.equal(verdictFromMailauth(input, ALICE).status, status, name);
});

test('verify: a domain without DMARC record passes on an aligned DKIM signature', () => {
  const verdict = verdictFromMailauth(
    report({ dmarc: { result: 'none' }, dkim: [signature({ signingDomain: 'mail.example.test' })] }),
    ALICE,
  );
  assert.equal(verdict.status, 'pass');
});

const TRUSTED = 'mx.example.test';
const trustedHeader =
  ' mx.example.test 1; dkim=pass (2048-bit key) header.d=example.test header.s=sel header.b="AbC;=x";' +
  ' spf=fail (sender IP is 192.0.2.1) smtp.mailfrom=example.test;\r\n\tdmarc=pass (p=REJECT sp=REJECT) header.from=Example.TEST';

test('Authentication-Results: parsed with comments, quoted strings, version and folding', () => {
  const parsed = parseAuthenticationResults(trustedHeader);
  assert.deepEqual(parsed, {
    authservId: 'mx.example.test',
    results: [
      {
        method: 'dkim',
        result: 'pass',
        properties: { 'header.d': 'example.test', 'header.s': 'sel', 'header.b': 'AbC;=x' },
      },
      { method: 'spf', result: 'fail', properties: { 'smtp.mailfrom': 'example.test' } },
      { method: 'dmarc', result: 'pass', properties: { 'header.from': 'Example.TEST' } },
    ],
  });
  assert.deepEqual(parseAuthenticationResults(' "mx (quoted)" (a comment (nested)) ; none'), {
    authservId: 'mx (quoted)',
    results: [],
  });
  assert.equal(parseAuthenticationResults(' mx.example.test; dkim'), undefined);
  assert.equal(parseAuthenticationResults(' mx.example.test; dkim=pass header.d'), undefined);
  assert.equal(authservIdOf(' spf=pass smtp.mailfrom=x.test'), undefined, 'a header without authserv-id');
  assert.equal(authservIdOf(' (comment) mx.example.test; dkim=pass'), 'mx.example.test');
});

test('Authentication-Results: only the topmost header of the trusted authserv-id counts', () => {
  const forged = ' mx.example.test; dmarc=pass header.from=example.test';
  const fields = headerFields(
    message(
      'Authentication-Results: mx.attacker.test; dmarc=pass header.from=example.test',
      `Authentication-Results:${' MX.Example.test; dmarc=fail header.from=example.test'}`,
      `Authentication-Results:${forged}`,
      'From: alice@example.test',
    ),
  );
  const trusted = trustedAuthenticationResults(fields, TRUSTED);
  assert.equal(trusted, ' MX.Example.test; dmarc=fail header.from=example.test');
  assert.equal(verdictFromAuthenticationResults(trusted, TRUSTED, ALICE).status, 'fail');

  // The trusted server's pass above an attacker's forged fail.
  const real = headerFields(
    message(
      `Authentication-Results:${trustedHeader}`,
      'Authentication-Results: mx.example.test; dmarc=fail header.from=example.test',
      'From: alice@example.test',
    ),
  );
  const verdict = verdictFromAuthenticationResults(
    trustedAuthenticationResults(real, TRUSTED),
    TRUSTED,
    ALICE,
  );
  assert.equal(verdict.status, 'pass', verdict.summary);

  // Only forged headers of other authserv-ids: nothing to trust.
  const none = headerFields(
    message('Authentication-Results: mx.attacker.test; dmarc=pass header.from=example.test'),
  );
  const missing = verdictFromAuthenticationResults(
    trustedAuthenticationResults(none, TRUSTED),
    TRUSTED,
    ALICE,
  );
  assert.deepEqual(missing, {
    status: 'fail',
    summary: 'no Authentication-Results header from mx.example.test',
  });
});

test('Authentication-Results: the verdict for the From domain', () => {
  const verdict = (value: string, from = ALICE) =>
    verdictFromAuthenticationResults(value, TRUSTED, from).status;
  assert.equal(
    verdict(' mx.example.test; dmarc=pass header.from=other.test'),
    'fail',
    'DMARC of another domain',
  );
  assert.equal(verdict(' mx.example.test; dmarc=temperror header.from=example.test'), 'temperror');
  assert.equal(
    verdict(' mx.example.test; dmarc=none header.from=example.test; dkim=pass header.d=example.test'),
    'pass',
  );
  assert.equal(verdict(' mx.example.test; dkim=pass header.i=@example.test'), 'pass', 'header.i');
  assert.equal(verdict(' mx.example.test; dkim=pass header.d=example.test', 'alice@eu.example.test'), 'pass');
  assert.equal(verdict(' mx.example.test; dkim=pass header.d=eu.example.test'), 'fail', 'a subdomain signs');
  assert.equal(verdict(' mx.example.test; dkim=pass header.d=attacker.test'), 'fail');
  assert.equal(verdict(' mx.example.test; dkim=temperror header.d=example.test'), 'temperror');
  assert.equal(verdict(' mx.example.test; spf=pass smtp.mailfrom=example.test'), 'fail', 'SPF alone');
  assert.equal(verdict(' mx.example.test; dmarc=pass'), 'fail', 'no header.from');
  assert.equal(
    verdict(' mx.example.test; dmarc=pass header.from=example.test; garbage'),
    'fail',
    'malformed',
  );
});

// Quadratic work on these inputs would take hours; the test timeout bounds them generously.
test('huge adversarial header input is read in one pass', { timeout: 120_000 }, () => {
  const huge = 2_000_000;
  const inputs = [
    `${' mx.example.test;'}${'('.repeat(huge)}`,
    ` mx.example.test${'; dkim=pass'.repeat(huge / 12)}`,
    ` mx.example.test; dkim=pass ${'header.d=example.test '.repeat(huge / 22)}`,
    ` mx.example.test; dkim=pass header.b="${'\\"'.repeat(huge / 2)}`,
    ` mx.example.test; ${')'.repeat(huge)}`,
    `${'('.repeat(huge)}`,
  ];
  for (const value of inputs) {
    assert.equal(parseAuthenticationResults(value), undefined, 'over the length limit');
    authservIdOf(value);
    assert.equal(
      verdictFromAuthenticationResults(value, TRUSTED, ALICE).summary,
      'the Authentication-Results header of mx.example.test is malformed',
    );
  }
  // Just under the limit, parsed in full, many times over: the tokenizer itself is linear.
  const limit = MAX_AUTHENTICATION_RESULTS_LENGTH - 100;
  const underLimit = [
    ` mx.example.test; ${'('.repeat(limit)}`,
    ` mx.example.test; dkim=pass header.b="${'\\"'.repeat(limit / 2)}`,
    ` mx.example.test${'; dkim=pass'.repeat(limit / 11)}`,
    ` mx.example.test; dkim=pass${' a=b'.repeat(limit / 4)}`,
  ];
  for (let round = 0; round < 50; round++) for (const value of underLimit) parseAuthenticationResults(value);
  assert.equal(parseAuthenticationResults(underLimit[2]!)?.results.length, Math.floor(limit / 11));
  const many = 60_000;
  const bounded = ` mx.example.test; dkim=pass ${'header.d=a '.repeat(5_000)}`;
  assert.equal(parseAuthenticationResults(bounded)?.results.length, 1);
  const lines = Array.from({ length: many }, (_, i) => `Authentication-Results: forged-${i}; dmarc=pass`);
  const fields = headerFields(message(...lines, `From: ${'x'.repeat(huge)}@example.test`));
  assert.equal(fields.length, many + 1);
  assert.equal(trustedAuthenticationResults(fields, TRUSTED), undefined);
  assert.match((singleFromMailbox(fields) as { problem: string }).problem, /longer than/);
  const list = singleFromMailbox(headerFields(message(`From: ${'a@b.test,'.repeat(400)}`)));
  assert.match((list as { problem: string }).problem, /names 400 mailboxes/);
});
