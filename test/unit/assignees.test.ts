import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAssignees } from '../../domain/assignees';

void test('parses address lists as RFC 5322 does: quoted names may hold commas', () => {
  const cases: [string | string[], { address: string; name?: string }[]][] = [
    ['alice@example.test', [{ address: 'alice@example.test', name: undefined }]],
    [
      '"Smith, Bob" <Bob@Example.com>, alice@example.test',
      [
        { address: 'bob@example.com', name: 'Smith, Bob' },
        { address: 'alice@example.test', name: undefined },
      ],
    ],
    ['Bob Smith <bob@other.test>', [{ address: 'bob@other.test', name: 'Bob Smith' }]],
    [
      '<bob@other.test>; carol@example.test,,',
      [
        { address: 'bob@other.test', name: undefined },
        { address: 'carol@example.test', name: undefined },
      ],
    ],
    [
      'Release team: alice@example.test, bob@other.test;',
      [
        { address: 'alice@example.test', name: undefined },
        { address: 'bob@other.test', name: undefined },
      ],
    ],
    [
      ['alice@example.test', 'ALICE@example.test', 'Bob <bob@other.test>'],
      [
        { address: 'alice@example.test', name: undefined },
        { address: 'bob@other.test', name: 'Bob' },
      ],
    ],
  ];
  for (const [input, assignees] of cases) assert.deepEqual(parseAssignees(input), assignees, String(input));
});

void test('assignee objects are checked like parsed ones', () => {
  assert.deepEqual(parseAssignees([{ address: ' Bob@Other.test ', name: ' Bob ' }]), [
    { address: 'bob@other.test', name: 'Bob' },
  ]);
});

void test('refuses what is not an address, naming the entry', () => {
  const cases: [string | { address: string; name?: string }[], RegExp][] = [
    ['alice, bob@other.test', /^Error: not an email address: "alice"$/],
    ['bob@other', /^Error: not an email address: "bob@other"$/],
    ['Bob <>', /^Error: not an email address: "Bob"$/],
    [[{ address: 'nobody' }], /^Error: not an email address: "nobody"$/],
    ['', /^Error: at least one assignee is required$/],
    [' , ', /^Error: at least one assignee is required$/],
  ];
  for (const [input, error] of cases)
    assert.throws(() => parseAssignees(input), error, JSON.stringify(input));
});

void test('a display name must be one printable line, not another address', () => {
  const cases: [string | { address: string; name?: string }[], RegExp][] = [
    [
      [{ address: 'bob@other.test', name: 'Bob\nBcc: eve@evil.test' }],
      /holds control characters or line breaks/,
    ],
    [[{ address: 'bob@other.test', name: 'Bob\x1b[2K' }], /holds control characters or line breaks/],
    ['"\u202eboB" <bob@other.test>', /holds control characters or line breaks: use one printable line$/],
    [
      'alice@example.test bob@other.test',
      /^Error: assignee name "bob@other.test" looks like an address: separate assignees with commas$/,
    ],
  ];
  for (const [input, error] of cases)
    assert.throws(() => parseAssignees(input), error, JSON.stringify(input));
});
