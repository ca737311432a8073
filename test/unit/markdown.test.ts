import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, renderMarkdownSafe } from '../../domain/markdown';

void test('escapeHtml escapes the five HTML-significant characters', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&amp;</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
  );
});

void test('renders the supported subset', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['Just text.', '<p>Just text.</p>'],
    ['one\ntwo\r\nthree', '<p>one<br>\ntwo<br>\nthree</p>'],
    ['para 1\n\n\npara 2', '<p>para 1</p>\n<p>para 2</p>'],
    ['**bold** and *em* and _em_', '<p><strong>bold</strong> and <em>em</em> and <em>em</em></p>'],
    ['**bold *nested* text**', '<p><strong>bold <em>nested</em> text</strong></p>'],
    ['`a *b* <c>`', '<p><code>a *b* &lt;c&gt;</code></p>'],
    ['snake_case_name and 2 * 3 * 4', '<p>snake_case_name and 2 * 3 * 4</p>'],
    ['- a\n- b\n* c', '<ul><li>a</li><li>b</li><li>c</li></ul>'],
    ['1. one\n2. two', '<ol><li>one</li><li>two</li></ol>'],
    ['3) three\n4) four', '<ol start="3"><li>three</li><li>four</li></ol>'],
    [
      'Steps:\n- a\n  more of a\n- b\nAfter',
      '<p>Steps:</p>\n<ul><li>a<br>\nmore of a</li><li>b</li></ul>\n<p>After</p>',
    ],
    ['- a\n1. b', '<ul><li>a</li></ul>\n<ol><li>b</li></ol>'],
    [
      '[docs](https://example.test/a?b=1&c=2)',
      '<p><a href="https://example.test/a?b=1&amp;c=2">docs</a></p>',
    ],
    [
      '[**mail** us](mailto:ops@example.test)',
      '<p><a href="mailto:ops@example.test"><strong>mail</strong> us</a></p>',
    ],
    ['[plain](HTTP://EXAMPLE.TEST)', '<p><a href="HTTP://EXAMPLE.TEST">plain</a></p>'],
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
  assert.equal(renderMarkdownSafe('<!-- c --> &lt;'), '<p>&lt;!-- c --&gt; &amp;lt;</p>');
});
