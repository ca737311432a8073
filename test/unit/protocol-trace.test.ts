import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactProtocolLine } from '../../mail/protocol-trace';

test('credentials are removed from protocol lines', () => {
  const cases: [string, boolean, string][] = [
    ['AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=', true, 'AUTH PLAIN [redacted]'],
    ['A1 LOGIN alice@example.test s3cret', true, 'A1 LOGIN [redacted]'],
    ['2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==', true, '2 AUTHENTICATE PLAIN [redacted]'],
    ['AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=', true, '[redacted]'],
    ['AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=', false, 'AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ='],
    ['250-AUTH PLAIN LOGIN', false, '250-AUTH PLAIN [redacted]'],
    ['MAIL FROM:<completion@example.test>', true, 'MAIL FROM:<completion@example.test>'],
    [
      `Subject: Complete task [rc1.abcdef12.c.t1.YQ.YQ.YQ.${'M'.repeat(43)}]`,
      true,
      'Subject: Complete task [rc1.abcdef12.c.t1.YQ.YQ.YQ.[redacted]]',
    ],
  ];
  for (const [line, fromClient, expected] of cases)
    assert.equal(redactProtocolLine(line, fromClient), expected, line);
});
