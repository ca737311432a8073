import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCorpus, type MailCase } from '../support/hostile/case-file';
import { generators } from '../support/hostile/generators';
import { renderTemplate } from '../support/hostile/render';

const corpus = loadCorpus();
const mail = corpus.filter((c): c is MailCase => c.kind === 'mail');
const fakeContext = (c: MailCase) => ({
  title: 'Corpus case',
  taskId: 'corpus-case',
  messageIdOf: (id = c.id) => `<${id}@example.test>`,
  token: (action: string, recipient: string, variant: string) => `rc1.tok.${action}.${recipient}.${variant}`,
  generated: c.generate
    ? generators[c.generate.kind]({
        size: Math.min(c.generate.size ?? 50, 50),
        maxMessageBytes: 10_000,
        validToken: () => 'valid-token',
        badToken: () => 'bad-token',
      })
    : undefined,
});

test('the hostile corpus has at least 60 cases, every file valid', () => {
  assert.ok(corpus.length >= 60, `${corpus.length} cases`);
});

test('every corpus template renders to CRLF-only bytes with no placeholder left', () => {
  for (const c of mail) {
    const raw = renderTemplate(c.template, fakeContext(c)).toString('latin1');
    assert.doesNotMatch(raw, /\{\{|\}\}/, c.id);
    assert.doesNotMatch(raw, /(?<!\r)\n|\r(?!\n)/, `${c.id}: bare CR or LF`);
  }
});

test('messages through Postfix carry a Message-ID of the corpus, so the runner finds them in INBOX', () => {
  for (const c of mail.filter((m) => m.deliver !== 'lmtp'))
    assert.match(c.template, /^Message-ID: \{\{messageId(:[a-z0-9-]+)?\}\}$/m, c.id);
});

test('placeholders: tokens, encoded words, base64 and quoted-printable', () => {
  const ctx = { ...fakeContext(mail[0]!), generated: undefined };
  const render = (template: string) => renderTemplate(template, ctx).toString('utf8');
  assert.equal(
    render('{{subject:fail:carol}}'),
    'Fail task: Corpus case [rc1.tok.fail.carol@example.test.valid]',
  );
  assert.equal(render('{{token:complete:alice:expired}}'), 'rc1.tok.complete.alice@example.test.expired');
  const words = render('{{encoded-word:B:Déploiement ✓ für Zürich, a longer subject than one word holds}}');
  assert.ok(
    words.split('\r\n ').every((w) => w.length <= 75 && /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/.test(w)),
    words,
  );
  assert.equal(render('{{base64:hé}}'), Buffer.from('hé').toString('base64'));
  const qp = render(`{{qp:${'x'.repeat(100)}=é}}`);
  assert.ok(
    qp.split('\r\n').every((l) => l.length <= 76),
    qp,
  );
  assert.equal(qp.replace(/=\r\n/g, ''), `${'x'.repeat(100)}=3D=C3=A9`);
  assert.deepEqual([...renderTemplate('a{{byte:e9}}{{char:1b}}', ctx)], [0x61, 0xe9, 0x1b]);
  assert.throws(() => render('{{nope}}'), /unknown placeholder/);
});
