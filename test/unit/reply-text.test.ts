import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { htmlToOwnText, ownText } from '../../domain/reply-text';
import { assertWithinBudget, ONE_MB, repeatTo } from '../helpers/time-budget';

const corpus = join(__dirname, '../fixtures/reply-trimming');
const read = (dir: string, name: string): string => readFileSync(join(corpus, dir, name), 'utf8');

/** Upstream's expected text keeps quoted lines for these (see the fixture README); ours does not. */
const CAVEATS: Record<string, { expected: string; why: string }> = {
  'quote_only.txt': { expected: '', why: '`>`-quoted lines are never the sender’s' },
  'quote_and_text.txt': {
    expected: 'And this is some text.',
    why: '`>`-quoted lines are never the sender’s',
  },
  'embedded_email_16.txt': {
    expected: 'Yep, me too, although I bet due to RubyConf/OOPSLA, it may be a little\nlonger yet...',
    why: '`>`-quoted lines are never the sender’s',
  },
  'embedded_email_7.txt': {
    expected: 'This is a line before the embedded email.',
    why: 'everything under an attribution that follows the sender’s text is cut',
  },
  'embedded_email_17.txt': {
    expected: '',
    why: 'unquoted text under a leading attribution is the quoted mail',
  },
  'embedded_email_18.txt': {
    expected: '',
    why: 'unquoted text under a leading attribution is the quoted mail',
  },
};

const names = readdirSync(join(corpus, 'emails'));
void test('corpus is complete', () => assert.equal(names.length, 64));

for (const name of names) {
  const caveat = CAVEATS[name];
  void test(`corpus ${name}: own text is what the sender wrote${caveat ? ` (ours: ${caveat.why})` : ''}`, () => {
    const expected = caveat ? caveat.expected : read('trimmed', name).replace(/\r\n?/g, '\n').trim();
    assert.equal(ownText(read('emails', name)).trim(), expected);
  });
}

const plainCases: { name: string; text: string; own: string }[] = [
  {
    name: 'Gmail reply above a wrapped attribution and a quote',
    text: [
      'Approved, the backup was checked.',
      '',
      'On Mon, 3 Jun 2024 at 10:02, Release Bot <completion@example.test>',
      'wrote:',
      '',
      '> Approve the production deploy',
      '> Complete task [token]',
    ].join('\n'),
    own: 'Approved, the backup was checked.',
  },
  {
    name: 'Outlook reply above an unquoted original',
    text: [
      'Looks good to me.',
      '',
      'Regards,',
      'Alice',
      '',
      '________________________________',
      'From: Release Bot <completion@example.test>',
      'Sent: Monday, June 3, 2024 10:02 AM',
      'To: Alice <alice@example.test>',
      'Subject: Action required: Approve the production deploy',
      '',
      'A workflow is waiting for you to complete or fail this task.',
    ].join('\r\n'),
    own: 'Looks good to me.\n\nRegards,\nAlice',
  },
  {
    name: 'Outlook reply with nothing written above the original',
    text: 'From: Release Bot <completion@example.test>\nSent: Monday\nTo: alice@example.test\n\nComplete task [x]\nFail task [y]',
    own: '',
  },
  {
    name: 'Apple Mail on iPhone',
    text: [
      'Go ahead',
      '',
      'Sent from my iPhone',
      '',
      '> On 3 Jun 2024, at 10:02, Release Bot <completion@example.test> wrote:',
      '> ',
      '> Approve the production deploy',
    ].join('\n'),
    own: 'Go ahead',
  },
  {
    name: 'answers between quotes are kept',
    text: '> Is the backup checked?\nYes, this morning.\n> Any open incidents?\nNone.\n',
    own: 'Yes, this morning.\nNone.',
  },
  {
    name: 'bottom posting under a leading attribution',
    text: 'On Mon, Jun 3, 2024 at 10:02 AM Bot <bot@example.test> wrote:\n> question\n\nMy answer below.\n',
    own: 'My answer below.',
  },
  {
    name: 'the pre-filled mailto body survives, signature after it does not',
    text: [
      'Deployed fine.',
      '',
      'Write your comment above this line (optional).',
      '---- Do not change the lines below: they identify you and your answer. ----',
      'Token: rc1.abc',
      '',
      '-- ',
      'Alice Example',
      'Release manager',
    ].join('\n'),
    own: 'Deployed fine.\n\nWrite your comment above this line (optional).\n---- Do not change the lines below: they identify you and your answer. ----\nToken: rc1.abc',
  },
  {
    name: 'Thunderbird forward of a reply',
    text: '-------- Forwarded Message --------\nSubject: \tRe: deploy\nDate: \tMon, 3 Jun 2024\nFrom: \tAlice <alice@example.test>\n\nLooks good.\n',
    own: 'Looks good.',
  },
  {
    name: 'lines that merely look like headers or sign-offs are kept',
    text: 'As the runbook wrote:\ncheck the backup first.\nSent from the release channel, approved.\n2024-06-03 10:00 all green',
    own: 'As the runbook wrote:\ncheck the backup first.\nSent from the release channel, approved.\n2024-06-03 10:00 all green',
  },
];

for (const { name, text, own } of plainCases) {
  void test(`ownText: ${name}`, () => {
    assert.equal(ownText(text), own);
  });
}

const htmlCases: { name: string; html: string; own: string }[] = [
  {
    name: 'Gmail: the gmail_quote container and everything after it go',
    html:
      '<div dir="ltr">Approved,&nbsp;go ahead.<div><br></div><div>Alice</div></div><br>' +
      '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, Jun 3, 2024 at 10:02 AM Bot &lt;bot@example.test&gt; wrote:<br></div>' +
      '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Complete task [c]</blockquote></div><div>trailing</div>',
    own: 'Approved, go ahead.\n\nAlice',
  },
  {
    name: 'Outlook on the web: #appendonsend and the #divRplyFwdMsg header go with what follows',
    html:
      '<html><head><style type="text/css">p { margin: 0 }</style></head><body><div style="font-family: Aptos">Fine by me.</div>' +
      '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">' +
      '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Bot<br><b>Sent:</b> Monday</div><div>Complete task [c]</div></body></html>',
    own: 'Fine by me.',
  },
  {
    name: 'Outlook desktop: the From:/Sent: block after a border div is found in the text',
    html:
      '<div class=WordSection1><p class=MsoNormal>Rejected: the backup failed.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>' +
      '<div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class=MsoNormal><b>From:</b> Bot &lt;bot@example.test&gt; <br><b>Sent:</b> Monday, June 3, 2024 10:02 AM<br>' +
      '<b>To:</b> Alice<br><b>Subject:</b> Action required</p></div><p class=MsoNormal>Fail task [f]</p></div>',
    own: 'Rejected: the backup failed.',
  },
  {
    name: 'Apple Mail: nested blockquotes, attributes holding ">" and text between quotes',
    html:
      '<div>Yes.</div><blockquote type="cite" title="a>b"><div>On 3 Jun 2024, at 10:02, Bot wrote:</div>' +
      '<BLOCKQUOTE type=cite>inner <blockquote>deeper</blockquote> still quoted</BLOCKQUOTE>quoted</blockquote>' +
      '<div>And no incidents.</div>',
    own: 'Yes.\nAnd no incidents.',
  },
  {
    name: 'Thunderbird bottom posting: the attribution stays above a dropped blockquote',
    html:
      '<div class="moz-cite-prefix">On 03/06/2024 10:02, Bot wrote:<br></div><blockquote type="cite" cite="mid:x@example.test">' +
      'Complete task [c]</blockquote><p>Below the quote.</p>',
    own: 'Below the quote.',
  },
  {
    name: 'entities are decoded after tags are gone, comments and doctype dropped',
    html: '<!DOCTYPE html><!--[if mso]><p>hidden</p><![endif]--><p>Use &lt;b&gt; &amp; &#39;x&#x27; &mdash; &unknown; &#0;</p><script>alert(1)</script>',
    // &#0; is U+FFFD, as in a browser.
    own: "Use <b> & 'x' — &unknown; \uFFFD",
  },
  {
    name: 'every HTML entity is decoded, with or without its semicolon where HTML allows it',
    html: '<p>Caf&eacute; &Uuml;bung &frac12; &amp &copy 2024 &#x1F44D; &NotAnEntity;</p>',
    own: 'Café Übung ½ & © 2024 👍 &NotAnEntity;',
  },
  {
    name: 'tags in attribute values, comments and the head are not text; a head left open ends at the body',
    html: '<html><head><title>Re: <b>deploy</b></title><meta name="x"><body><div title="<b>x</b>">Shipped.</div><!-- <p>not this</p> -->',
    own: 'Shipped.',
  },
  {
    name: 'a quote container found by class among others, or by id, in any case',
    html: '<p>Fine.</p><DIV Class="x  GMAIL_QUOTE">On Mon, Bot wrote:<p>old</p></DIV><p>after</p>',
    own: 'Fine.',
  },
  {
    name: 'a tag never closed at the end of the body is dropped, the text before it kept',
    html: '<p>Kept</p><a href="x',
    own: 'Kept',
  },
  {
    name: 'unclosed blockquote drops the rest',
    html: '<p>Mine</p><blockquote><p>theirs',
    own: 'Mine',
  },
];

for (const { name, html, own } of htmlCases) {
  void test(`htmlToOwnText: ${name}`, () => {
    assert.equal(htmlToOwnText(html), own);
  });
}

const adversarialHtml: [string, string][] = [
  ['an unterminated tag of letters', `<a${repeatTo('b', ONE_MB)}`],
  ['an unterminated tag with attributes', `<div ${repeatTo('class=a ', ONE_MB)}`],
  ['an endless attribute value', `<div class="${repeatTo('a ', ONE_MB)}`],
  ['deeply nested elements', repeatTo('<div>x', ONE_MB)],
  ['nested elements closed by unknown tags', repeatTo('<div>', ONE_MB / 2) + repeatTo('</x>', ONE_MB / 2)],
  ['nested blockquotes', repeatTo('<blockquote>', ONE_MB)],
  ['stray closing blockquotes', repeatTo('</blockquote>a', ONE_MB)],
  ['bare <', repeatTo('<', ONE_MB)],
  ['bare & and &#', repeatTo('&&#&#x', ONE_MB)],
  ['entities', repeatTo('&amp;&eacute', ONE_MB)],
  ['unterminated comments', repeatTo('<!--', ONE_MB)],
  ['line breaks', repeatTo('<br>', ONE_MB)],
  ['quote marks', repeatTo('&gt;<br>', ONE_MB)],
];
for (const [name, html] of adversarialHtml) {
  void test(`htmlToOwnText runs in linear time: 1 MB of ${name}`, () => {
    assertWithinBudget(name, () => htmlToOwnText(html));
  });
}

const adversarialText: [string, string][] = [
  ['blank lines', repeatTo('\n', ONE_MB / 4)],
  ['lines of >', repeatTo('>'.repeat(80) + '\n', ONE_MB / 4)],
  ['lines of -', repeatTo('-'.repeat(80) + '\n', ONE_MB / 4)],
  ['lines of :', repeatTo(':\n', ONE_MB / 4)],
  ['short attribution-like lines', repeatTo('1:\n', ONE_MB / 4)],
  ['attribution verbs without a date', repeatTo('wrote wrote wrote:\n', ONE_MB / 4)],
  ['one long line of >', '>'.repeat(ONE_MB)],
  ['one long line of -', `${'-'.repeat(ONE_MB)}x`],
  ['one long line of :', ':'.repeat(ONE_MB)],
  ['header-length lines of link syntax', repeatTo(`${'[a](b'.repeat(59)}\n`, ONE_MB / 4)],
  ['header-length lines of dashes and words', repeatTo(`--${'-a'.repeat(148)}-\n`, ONE_MB / 4)],
];
for (const [name, text] of adversarialText) {
  void test(`ownText runs in linear time: ${text.length} characters of ${name}`, () => {
    assertWithinBudget(name, () => ownText(text));
  });
}
