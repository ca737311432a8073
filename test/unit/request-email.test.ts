import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMailto } from '../../domain/mailto';
import {
  COMMENT_PROMPT,
  TOKEN_MARKER,
  renderConfirmationEmail,
  renderRequestEmail,
  sanitizeHeaderText,
  type RequestEmailInput,
} from '../../domain/request-email';
import { findTokens, keyring, signToken, type Action } from '../../domain/token';

const keys = keyring(['test secret']);
const expiresAt = Date.UTC(2030, 0, 2, 3, 4, 5);
const token = (action: Action): string =>
  signToken(
    {
      workflowId: 'remote-completion/T-1',
      runId: 'run-1',
      action,
      recipient: 'alice@example.test',
      expiresAt,
    },
    keys,
  );

function request(overrides: Partial<RequestEmailInput> = {}): RequestEmailInput {
  return {
    taskId: 'T-1',
    workflowId: 'remote-completion/T-1',
    title: 'Approve the production deploy',
    recipient: { address: 'alice@example.test', name: 'Alice' },
    completionAddress: 'completion@example.test',
    completeToken: token('complete'),
    failToken: token('fail'),
    expiresAt,
    ...overrides,
  };
}

/** The `mailto:` hrefs of the HTML part, attribute-decoded and parsed. */
function buttons(html: string): ReturnType<typeof parseMailto>[] {
  return [...html.matchAll(/href="(mailto:[^"]*)"/g)].map((m) => parseMailto(m[1]!.replaceAll('&amp;', '&')));
}

void test('sanitizeHeaderText makes one capped line', () => {
  const cases: [string, number, string][] = [
    ['plain', 10, 'plain'],
    ['a\r\nBcc: eve@example.test', 100, 'a Bcc: eve@example.test'],
    ['  tabs\tand\u0000nul\u0085nel\u2028ls  ', 100, 'tabs and nul nel ls'],
    ['abcdefghij', 10, 'abcdefghij'],
    ['abcdefghijk', 10, 'abcdefghi…'],
    ['abcd efghijk', 6, 'abcd…'],
    ['😀😀😀😀', 3, '😀😀…'],
  ];
  for (const [input, max, expected] of cases) assert.equal(sanitizeHeaderText(input, max), expected, input);
});

void test('request subject is one line, prefixed for reminders, capped', () => {
  const cases: [Partial<RequestEmailInput>, string][] = [
    [{}, 'Action required: Approve the production deploy'],
    [{ reminder: true }, 'Reminder: Action required: Approve the production deploy'],
    [{ title: 'x\r\nBcc: eve@example.test\r\n\r\nbody' }, 'Action required: x Bcc: eve@example.test body'],
  ];
  for (const [overrides, subject] of cases)
    assert.equal(renderRequestEmail(request(overrides)).subject, subject);
  const long = renderRequestEmail(request({ title: 'x'.repeat(500) })).subject;
  assert.equal(long.length, 150);
  assert.ok(long.endsWith('…'));
});

void test('each button mails the completion address with its own token in subject and body', () => {
  const input = request({ messageId: '<req.T-1.alice@example.test>' });
  const links = buttons(renderRequestEmail(input).html);
  assert.equal(links.length, 2);
  const expected = [
    { label: 'Complete task', own: input.completeToken, other: input.failToken },
    { label: 'Fail task', own: input.failToken, other: input.completeToken },
  ];
  for (const [i, { label, own, other }] of expected.entries()) {
    const link = links[i]!;
    assert.deepEqual(link.to, ['completion@example.test']);
    assert.equal(link.subject, `${label}: Approve the production deploy [${own}]`);
    assert.equal(link.headers['in-reply-to'], '<req.T-1.alice@example.test>');
    assert.deepEqual(findTokens(link.subject ?? ''), [own]);
    assert.deepEqual(findTokens(link.body ?? ''), [own]);
    assert.ok(!`${link.subject} ${link.body}`.includes(other));
    assert.equal(link.body, `\r\n\r\n${COMMENT_PROMPT}\r\n${TOKEN_MARKER}\r\nToken: ${own}\r\n`);
  }
});

void test('button subjects stay single-line and keep the whole token for hostile or long titles', () => {
  for (const title of ['a\r\nBcc: eve@example.test', '\u0000\u001b[31m', 'é'.repeat(400)]) {
    const input = request({ title });
    const [complete, fail] = buttons(renderRequestEmail(input).html);
    for (const [link, own] of [
      [complete, input.completeToken],
      [fail, input.failToken],
    ] as const) {
      assert.doesNotMatch(link?.subject ?? '', /\p{Cc}/u);
      assert.ok(link?.subject?.endsWith(` [${own}]`), title);
      assert.ok((link?.subject?.length ?? 0) < 100 + own.length);
    }
  }
});

void test('text part explains replying without buttons and labels both tokens', () => {
  const input = request({ requester: 'bob@other.test', context: { Environment: 'production' } });
  const { text } = renderRequestEmail(input);
  for (const expected of [
    'Approve the production deploy',
    'Hello Alice,',
    'bob@other.test asks you',
    'completion@example.test',
    `To complete the task:  Complete task [${input.completeToken}]`,
    `To fail the task:      Fail task [${input.failToken}]`,
    'Environment: production',
    'Task id: T-1',
    'Expires: 2030-01-02 03:04 UTC',
  ]) {
    assert.ok(text.includes(expected), expected);
  }
  assert.deepEqual(findTokens(text), [input.completeToken, input.failToken]);
});

void test('HTML part: escaped task text, safe description, no remote content, light and dark', () => {
  const evil = '<script>alert(1)</script>';
  const input = request({
    title: `${evil} & "deploy"`,
    description: `Check **this**\n\n${evil}\n\n[bad](javascript:alert%281%29) [good](https://example.test/runbook)`,
    recipient: { address: 'alice@example.test', name: '<b>Alice</b>' },
    requester: '<img src=x onerror=alert(1)>',
    context: { '<k>': '<v onclick="x">', build: '#42' },
  });
  const { html, text } = renderRequestEmail(input);
  assert.doesNotMatch(html, /<script|<img|<b>|<k>|<v /i);
  for (const escaped of [
    '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;deploy&quot;',
    'Hello &lt;b&gt;Alice&lt;/b&gt;,',
    '&lt;img src=x onerror=alert(1)&gt; asks you',
    '&lt;k&gt;',
    '&lt;v onclick=&quot;x&quot;&gt;',
    '<strong>this</strong>',
    '<a href="https://example.test/runbook">good</a>',
    'T-1',
    '2030-01-02 03:04 UTC',
    '<meta name="color-scheme" content="light dark">',
    '>Complete task</a>',
    '>Fail task</a>',
  ]) {
    assert.ok(html.includes(escaped), escaped);
  }
  assert.doesNotMatch(html, /href="javascript:/i);
  assert.doesNotMatch(html, /src=["']?https?:|url\(|<link|@import/i);
  assert.ok(html.includes(input.completeToken) && html.includes(input.failToken));
  assert.ok(text.includes(evil), 'the text part is not HTML and keeps the text as written');
  assert.ok(text.includes('\nCheck this\n'), 'the text part renders the Markdown as plain text');
  assert.ok(text.includes('[bad](javascript:alert%281%29) good <https://example.test/runbook>'));
  assert.doesNotMatch(text, /\*\*/);
});

void test('the details table reads "Label: value", a row a line, in a viewer that drops tags and CSS', () => {
  const { html } = renderRequestEmail(request({ context: { Environment: 'production' } }));
  // What a simple HTML viewer (Claws Mail) shows: the text between the tags, entities decoded.
  const lines = html
    .replace(/<[^>]*>/g, '')
    .replaceAll('&amp;', '&')
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim());
  for (const row of [
    'Environment: production',
    'Task id: T-1',
    'Workflow id: remote-completion/T-1',
    'Expires: 2030-01-02 03:04 UTC',
  ]) {
    assert.ok(lines.includes(row), row);
  }
});

void test('request email refuses values that are not completion tokens', () => {
  for (const bad of ['', 'not-a-token', `${token('complete')} extra`]) {
    assert.throws(() => renderRequestEmail(request({ completeToken: bad })), /not a completion token/);
    assert.throws(() => renderRequestEmail(request({ failToken: bad })), /not a completion token/);
  }
});

void test('confirmation email names the outcome, who decided and the comment, escaped', () => {
  const decidedAt = Date.UTC(2030, 0, 1, 9, 30);
  const cases = [
    {
      outcome: 'completed',
      decidedBy: 'alice@example.test',
      channel: 'email',
      comment: 'Looks good <b>ship it</b>\nsecond line',
      subject: 'Completed: Deploy <prod>',
      sentence: 'was completed by alice@example.test by email at 2030-01-01 09:30 UTC.',
    },
    {
      outcome: 'failed',
      decidedBy: 'bob@other.test',
      channel: 'api',
      subject: 'Failed: Deploy <prod>',
      sentence: 'was marked as failed by bob@other.test through the API at 2030-01-01 09:30 UTC.',
    },
    {
      outcome: 'timed-out',
      subject: 'Timed out: Deploy <prod>',
      sentence: 'timed out at 2030-01-01 09:30 UTC.',
    },
    {
      outcome: 'cancelled',
      subject: 'Cancelled: Deploy <prod>',
      sentence: 'was cancelled at 2030-01-01 09:30 UTC.',
    },
  ] as const;
  for (const { subject, sentence, ...fields } of cases) {
    const email = renderConfirmationEmail({
      title: 'Deploy <prod>\r\nBcc: x',
      taskId: 'T-1',
      decidedAt,
      ...fields,
    });
    assert.equal(email.subject, subject.replace('<prod>', '<prod> Bcc: x'));
    assert.ok(email.text.includes(`The task "Deploy <prod> Bcc: x" ${sentence}`), email.text);
    assert.ok(email.text.includes('Task id: T-1'));
    assert.ok(email.html.includes('Deploy &lt;prod&gt; Bcc: x'));
    assert.doesNotMatch(email.html, /<prod>|<b>ship/);
    if ('comment' in fields) {
      assert.ok(email.text.includes('Comment:\nLooks good <b>ship it</b>\nsecond line'));
      assert.ok(email.html.includes('Looks good &lt;b&gt;ship it&lt;/b&gt;<br>\nsecond line'));
    }
  }
});
