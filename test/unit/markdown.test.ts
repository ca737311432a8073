import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, renderMarkdownSafe } from '../../domain/markdown';
import { assertWithinBudget, repeatTo } from '../helpers/time-budget';

void test('escapeHtml escapes the five HTML-significant characters', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&amp;</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
  );
});

void test('renders the supported subset', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['Just text.', '<p>Just text.</p>\n'],
    ['one\ntwo\r\nthree', '<p>one<br>\ntwo<br>\nthree</p>\n'],
    ['para 1\n\n\npara 2', '<p>para 1</p>\n<p>para 2</p>\n'],
    ['**bold** and *em* and _em_', '<p><strong>bold</strong> and <em>em</em> and <em>em</em></p>\n'],
    ['**bold *nested* text**', '<p><strong>bold <em>nested</em> text</strong></p>\n'],
    ['`a *b* <c>`', '<p><code>a *b* &lt;c&gt;</code></p>\n'],
    ['snake_case_name and 2 * 3 * 4', '<p>snake_case_name and 2 * 3 * 4</p>\n'],
    ['a \\*literal\\* star', '<p>a *literal* star</p>\n'],
    ['- a\n- b', '<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n'],
    // CommonMark: another bullet character starts another list.
    ['- a\n* b', '<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>\n'],
    ['1. one\n2. two', '<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n'],
    ['3) three\n4) four', '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>\n'],
    [
      'Steps:\n- a\n  more of a\n- b\n\nAfter',
      '<p>Steps:</p>\n<ul>\n<li>a<br>\nmore of a</li>\n<li>b</li>\n</ul>\n<p>After</p>\n',
    ],
    // CommonMark: an unindented line right under an item continues it ("lazy" continuation).
    ['- a\nAfter', '<ul>\n<li>a<br>\nAfter</li>\n</ul>\n'],
    ['- a\n1. b', '<ul>\n<li>a</li>\n</ul>\n<ol>\n<li>b</li>\n</ol>\n'],
    [
      '[docs](https://example.test/a?b=1&c=2)',
      '<p><a href="https://example.test/a?b=1&amp;c=2">docs</a></p>\n',
    ],
    [
      '[**mail** us](mailto:ops@example.test)',
      '<p><a href="mailto:ops@example.test"><strong>mail</strong> us</a></p>\n',
    ],
    ['[plain](HTTP://EXAMPLE.TEST)', '<p><a href="HTTP://EXAMPLE.TEST">plain</a></p>\n'],
  ];
  for (const [input, html] of cases) assert.equal(renderMarkdownSafe(input), html, input);
});

void test('everything outside the subset stays text', () => {
  const cases: [string, string][] = [
    ['# Heading', '<p># Heading</p>\n'],
    ['Title\n===', '<p>Title<br>\n===</p>\n'],
    ['![logo](https://example.test/logo.png)', '<p>!<a href="https://example.test/logo.png">logo</a></p>\n'],
    ['| a | b |\n|---|---|\n| 1 | 2 |', '<p>| a | b |<br>\n|---|---|<br>\n| 1 | 2 |</p>\n'],
    ['> quoted', '<p>&gt; quoted</p>\n'],
    ['    indented code', '<p>indented code</p>\n'],
    ['---', '<p>---</p>\n'],
    ['<https://example.test>', '<p>&lt;https://example.test&gt;</p>\n'],
    ['https://example.test', '<p>https://example.test</p>\n'],
    ['~~struck~~', '<p>~~struck~~</p>\n'],
    ['[ref][x]\n\n[x]: https://example.test', '<p>[ref][x]</p>\n<p>[x]: https://example.test</p>\n'],
  ];
  for (const [input, html] of cases) assert.equal(renderMarkdownSafe(input), html, input);
});

void test('links with other schemes stay text', () => {
  const cases = [
    '[x](javascript:alert%281%29)',
    '[x](JavaScript:alert(1))',
    '[x](data:text/html;base64,PHNjcmlwdD4=)',
    '[x](vbscript:msgbox)',
    '[x](//evil.example/)',
    '[x](/relative)',
    '[x](java&#115;cript:alert%281%29)',
    '[x](&#106;avascript:alert%281%29)',
    '[x]( javascript:alert%281%29)',
  ];
  for (const input of cases) {
    const html = renderMarkdownSafe(input);
    assert.doesNotMatch(html, /<a\b/, input);
    assert.doesNotMatch(html, /href/i, input);
  }
});

void test('no raw HTML ever passes through', () => {
  const hostile = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '**<b>bold</b>**',
    '`<i>`',
    '- <iframe src="https://evil.example">',
    '[<svg onload=alert(1)>](https://example.test)',
    '[x](https://example.test/"onmouseover="alert(1))',
    "[x](https://example.test/'onmouseover='alert(1))",
    '<!-- comment --> &lt;already escaped&gt;',
    '<a href="javascript:alert(1)">click</a>',
  ];
  for (const input of hostile) {
    const html = renderMarkdownSafe(input);
    const tags = html.match(/<[^>]*>/g) ?? [];
    for (const tag of tags) {
      assert.match(
        tag,
        /^<(\/?(p|br|strong|em|code|ul|ol|li|a)|a href="https:\/\/[^"<>]*")>$/,
        `${input} -> ${html}`,
      );
    }
  }
  assert.equal(renderMarkdownSafe('<!-- c --> &lt;'), '<p>&lt;!-- c --&gt; &amp;lt;</p>\n');
});

// Descriptions are capped far below this (MAX_DESCRIPTION_LENGTH); the renderer must not need the cap.
const SIZE = 100_000;
const adversarial: [string, string][] = [
  ['unclosed emphasis', repeatTo('*a ', SIZE)],
  ['unclosed underscores', repeatTo('_a ', SIZE)],
  ['unclosed strong', repeatTo('**a ', SIZE)],
  ['mixed delimiters', repeatTo('*_', SIZE)],
  ['delimiters inside words', repeatTo('a*b*', SIZE)],
  ['unclosed link labels', repeatTo('[', SIZE)],
  ['unclosed link destinations', repeatTo('[a](', SIZE)],
  ['unclosed code spans', repeatTo('`a ', SIZE)],
  ['backslashes', repeatTo('\\', SIZE)],
  ['angle brackets', repeatTo('<', SIZE)],
  ['list items with continuations', repeatTo('- a\n  ', SIZE)],
  ['nested list markers', `${repeatTo('  ', SIZE)}- a`],
  ['lines of >', repeatTo('>', SIZE)],
];
for (const [name, input] of adversarial) {
  void test(`renderMarkdownSafe runs in linear time: ${input.length} characters of ${name}`, () => {
    assertWithinBudget(name, () => renderMarkdownSafe(input));
  });
}
