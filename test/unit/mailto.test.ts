import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildMailto, parseMailto } from '../../domain/mailto';

void test('round trip keeps addresses, subjects and bodies exactly', () => {
  const cases = [
    { to: 'alice@example.test', subject: 'plain', body: 'plain' },
    { to: 'alice+tag@example.test', subject: 'a & b = c ? d # e % f + g', body: 'x&body=evil&bcc=eve@x' },
    { to: 'josé@bücher.example', subject: 'Café ✓ 日本語 😀', body: 'Grüße\r\n— Zoë' },
    { to: '"not@me"@example.org', subject: '100% done', body: '%0D%0A stays literal' },
    { to: '"\\\\"@example.org', subject: 'quoted backslash', body: '' },
    { to: 'ops@[192.0.2.1]', subject: "[token] (x) *!'", body: 'line 1\r\n\r\nline 3' },
  ];
  for (const { to, subject, body } of cases) {
    const url = buildMailto(to, { subject, body });
    assert.match(url, /^mailto:[A-Za-z0-9\-._~%@?&=]*$/, url);
    assert.deepEqual(parseMailto(url), { to: [to], headers: { subject, body }, subject, body });
  }
});

void test('body line breaks become %0D%0A whatever the input used', () => {
  for (const body of ['a\nb\nc', 'a\r\nb\r\nc', 'a\rb\rc', 'a\r\nb\nc']) {
    const url = buildMailto('a@example.test', { body });
    assert.ok(url.endsWith('body=a%0D%0Ab%0D%0Ac'), url);
    assert.equal(parseMailto(url).body, 'a\r\nb\r\nc');
  }
});

void test('build encodes In-Reply-To and omits absent fields', () => {
  assert.equal(buildMailto('a@example.test', {}), 'mailto:a@example.test');
  const url = buildMailto('a@example.test', { subject: 'Re: x', inReplyTo: '<id.1@example.test>' });
  assert.equal(url, 'mailto:a@example.test?subject=Re%3A%20x&In-Reply-To=%3Cid.1%40example.test%3E');
  assert.equal(parseMailto(url).headers['in-reply-to'], '<id.1@example.test>');
});

void test('build rejects non-addresses and multi-line header fields', () => {
  for (const to of [
    '',
    'alice',
    'Alice <alice@example.test>',
    'a b@example.test',
    'a@b@c',
    'a@',
    '@b',
    'a@b\r\nBcc: x',
  ]) {
    assert.throws(() => buildMailto(to, {}), /addr-spec/, to);
  }
  assert.throws(() => buildMailto('a@example.test', { subject: 'x\r\nBcc: eve@x' }), /single line/);
  assert.throws(() => buildMailto('a@example.test', { inReplyTo: '<a>\n<b>' }), /single line/);
});

void test('parses RFC 6068 examples', () => {
  const cases: [string, ReturnType<typeof parseMailto>][] = [
    ['mailto:chris@example.com', { to: ['chris@example.com'], headers: {} }],
    [
      'mailto:infobot@example.com?subject=current-issue',
      { to: ['infobot@example.com'], headers: { subject: 'current-issue' }, subject: 'current-issue' },
    ],
    [
      'mailto:infobot@example.com?body=send%20current-issue%0D%0Asend%20index',
      {
        to: ['infobot@example.com'],
        headers: { body: 'send current-issue\r\nsend index' },
        body: 'send current-issue\r\nsend index',
      },
    ],
    [
      'mailto:list@example.org?In-Reply-To=%3C3469A91.D10AF4C@example.com%3E',
      { to: ['list@example.org'], headers: { 'in-reply-to': '<3469A91.D10AF4C@example.com>' } },
    ],
    [
      'mailto:?to=joe@example.com&cc=bob@example.com&body=hello',
      {
        to: ['joe@example.com'],
        headers: { to: 'joe@example.com', cc: 'bob@example.com', body: 'hello' },
        body: 'hello',
      },
    ],
    [
      'mailto:joe@example.com?cc=bob@example.com&body=hello',
      { to: ['joe@example.com'], headers: { cc: 'bob@example.com', body: 'hello' }, body: 'hello' },
    ],
    [
      'mailto:addr1@an.example,addr2@an.example',
      { to: ['addr1@an.example', 'addr2@an.example'], headers: {} },
    ],
    [
      'mailto:?to=addr1@an.example,addr2@an.example',
      { to: ['addr1@an.example', 'addr2@an.example'], headers: { to: 'addr1@an.example,addr2@an.example' } },
    ],
    ['mailto:%22not%40me%22@example.org', { to: ['"not@me"@example.org'], headers: {} }],
    ['mailto:%22oh%5C%5Cno%22@example.org', { to: ['"oh\\\\no"@example.org'], headers: {} }],
    [
      "mailto:%22%5C%5C%5C%22it's%5C%20ugly%5C%5C%5C%22%22@example.org",
      { to: ['"\\\\\\"it\'s\\ ugly\\\\\\""@example.org'], headers: {} },
    ],
    [
      'mailto:user@example.org?subject=caf%C3%A9',
      { to: ['user@example.org'], headers: { subject: 'café' }, subject: 'café' },
    ],
    [
      'mailto:user@example.org?subject=%3D%3Futf-8%3FQ%3Fcaf%3DC3%3DA9%3F%3D',
      {
        to: ['user@example.org'],
        headers: { subject: '=?utf-8?Q?caf=C3=A9?=' },
        subject: '=?utf-8?Q?caf=C3=A9?=',
      },
    ],
    ['mailto:user@%E7%B4%8D%E8%B1%86.example.org', { to: ['user@納豆.example.org'], headers: {} }],
    [
      'MAILTO:a@example.test?SUBJECT=Hi&X-Custom=1',
      { to: ['a@example.test'], headers: { subject: 'Hi', 'x-custom': '1' }, subject: 'Hi' },
    ],
  ];
  for (const [url, expected] of cases) {
    assert.deepEqual({ ...parseMailto(url) }, { subject: undefined, body: undefined, ...expected }, url);
  }
});

void test('parse rejects what RFC 6068 does not allow', () => {
  const cases = [
    'http://example.test',
    'mailto',
    'mailto:"not@me"@example.org', // quote must be percent-encoded
    'mailto:a@example.test#frag',
    'mailto:a@example.test?subject=a b', // raw space
    'mailto:a@example.test?subject=a?b',
    'mailto:a@example.test?subject=a=b',
    'mailto:a@example.test?subject',
    'mailto:a@example.test?=x',
    'mailto:a@example.test?subject=x&',
    'mailto:a@example.test?subject=%zz',
    'mailto:a@example.test?subject=%C3', // truncated UTF-8
    'mailto:a@example.test?subject=a&Subject=b',
    'mailto:a@example.test?subject=a%0D%0ABcc:%20eve@x',
    'mailto:a@example.test?body=a%0Ab', // bare LF in body
    'mailto:a@example.test?body=a%0Db',
    'mailto:a;b@example.test',
    'mailto:a@example.test,,b@example.test',
    'mailto:alice',
    'mailto:%20a@example.test',
    'mailto:?to=not-an-address',
  ];
  for (const url of cases) assert.throws(() => parseMailto(url), /^Error: mailto: /, url);
});
