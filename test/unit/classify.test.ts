import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { classifyMail, type Classification, type ClassifyContext } from '../../domain/classify';
import { toInboundMail, type InboundMail } from '../../domain/inbound-mail';
import { OUTCOME_CODES, type OutcomeCode } from '../../domain/mail-outcome';
import { asciiLowerCase } from '../../domain/ascii-case';
import { headerFields, singleFromMailbox, type SenderVerdict } from '../../domain/sender-authentication';
import { parseMailto } from '../../domain/mailto';
import { renderRequestEmail } from '../../domain/request-email';
import { findTokens, keyring, signToken, type Action, type TokenClaims } from '../../domain/token';
import { assertWithinBudget } from '../helpers/time-budget';

const NOW = Date.UTC(2030, 0, 1);
const WORKFLOW = 'remote-completion/T-1';
const RUN = 'run-1';
const keys = keyring(['current secret', 'previous secret']);

function token(action: Action, claims: Partial<TokenClaims> = {}, signingKeys = keys): string {
  const base = {
    workflowId: WORKFLOW,
    runId: RUN,
    action,
    recipient: 'alice@example.test',
    expiresAt: NOW + 86_400_000,
  };
  return signToken({ ...base, ...claims }, signingKeys);
}
const C = token('complete');
const F = token('fail');

/** What authenticateSender says of a message whose From domain passed DKIM/DMARC. */
function passed(address: string | undefined): SenderVerdict {
  return {
    mode: 'verify',
    from: asciiLowerCase(address ?? ''),
    status: 'pass',
    summary: 'dmarc=pass (test)',
  };
}

/** The same for a raw message: its From read by the one-From rule. */
function passedRaw(raw: string): SenderVerdict {
  const from = singleFromMailbox(headerFields(raw));
  assert.ok('address' in from, 'one From mailbox');
  return passed(from.address);
}

function mail(fields: Partial<InboundMail> = {}): InboundMail {
  const from = 'from' in fields ? fields.from : { address: 'alice@example.test' };
  return {
    uidValidity: '1700000000',
    authentication: passed(from?.address),
    uid: 7,
    size: 2048,
    messageId: '<reply-1@example.test>',
    from: { address: 'alice@example.test', name: 'Alice' },
    to: ['completion@example.test'],
    cc: [],
    subject: '',
    headers: {},
    contentType: 'text/plain',
    receivedAt: NOW - 1000,
    ...fields,
  };
}

const seen = new Set<Classification['outcome']>();
/** classifyMail, checking on the way that no reason ever shows a token's MAC. */
function classify(m: InboundMail, context: Partial<ClassifyContext> = {}): Classification {
  const result = classifyMail(m, {
    keys,
    whitelist: { enabled: false, domains: [] },
    ownAddresses: ['completion@example.test'],
    now: NOW,
    ...context,
  });
  for (const t of findTokens(`${m.subject}\n${m.text ?? ''}\n${m.html ?? ''}`)) {
    assert.ok(!result.reason.includes(t.split('.')[6]!), result.reason);
  }
  seen.add(result.outcome);
  return result;
}

function decided(result: Classification): Extract<Classification, { outcome: 'decision' }>['decision'] {
  assert.equal(result.outcome, 'decision', result.reason);
  assert.ok(result.outcome === 'decision');
  return result.decision;
}

const request = renderRequestEmail({
  taskId: 'T-1',
  workflowId: WORKFLOW,
  title: 'Approve the production deploy',
  recipient: { address: 'alice@example.test', name: 'Alice' },
  completionAddress: 'completion@example.test',
  completeToken: C,
  failToken: F,
  expiresAt: NOW + 86_400_000,
});

/** What a mail client pre-fills from the request's button for `action`. */
function button(action: Action): { subject: string; body: string } {
  const hrefs = [...request.html.matchAll(/href="(mailto:[^"]*)"/g)].map((m) =>
    parseMailto(m[1]!.replaceAll('&amp;', '&')),
  );
  const link = hrefs[action === 'complete' ? 0 : 1]!;
  return { subject: link.subject!, body: link.body!.replace(/\r\n/g, '\n') };
}

const attribution = 'On Mon, 31 Dec 2029 at 10:00, Release Bot <completion@example.test> wrote:';
const quotedRequest = request.text
  .split('\n')
  .map((line) => `> ${line}`)
  .join('\n');

void test('a button reply is a decision with the comment typed above the prompt', () => {
  const { subject, body } = button('complete');
  const result = classify(
    mail({ subject, text: `Backup checked.\n\n\n\nGo ahead.${body}\n-- \nAlice\nRelease manager` }),
  );
  assert.deepEqual(result, {
    outcome: 'decision',
    reason: "complete by alice@example.test, the token's recipient",
    workflowId: WORKFLOW,
    decision: {
      runId: RUN,
      action: 'complete',
      sender: 'alice@example.test',
      comment: 'Backup checked.\n\nGo ahead.',
      messageId: '<reply-1@example.test>',
      receivedAt: new Date(NOW - 1000).toISOString(),
    },
  });
});

void test('the body token decides when the subject was edited; the comment drops token lines', () => {
  const { body } = button('fail');
  const decision = decided(classify(mail({ subject: 'no', text: `Broken backup.\nToken: ${F}\n${body}` })));
  assert.equal(decision.action, 'fail');
  assert.equal(decision.comment, 'Broken backup.');
});

void test('a reply quoting the request (both tokens) is decided by the token the sender wrote', () => {
  const text = `Approved.\n\nComplete task [${C}]\n\n${attribution}\n\n${quotedRequest}`;
  const decision = decided(classify(mail({ subject: `Re: ${request.subject}`, text })));
  assert.equal(decision.action, 'complete');
  assert.equal(decision.comment, 'Approved.');
});

void test('a reply quoting the request with no token of its own is ambiguous', () => {
  const result = classify(
    mail({ subject: `Re: ${request.subject}`, text: `Sure.\n\n${attribution}\n\n${quotedRequest}` }),
  );
  assert.deepEqual(result, { outcome: 'ambiguous', reason: 'reply quotes the request but names no action' });
});

void test('HTML-only replies: own token decides, the quoted request does not', () => {
  const quote = `<div class="gmail_quote"><div class="gmail_attr">${attribution}</div><blockquote class="gmail_quote">${request.html}</blockquote></div>`;
  const html = `<div dir="ltr">Fail it,&nbsp;the backup is broken.<div><br></div><div>Fail task [${F}]</div></div>${quote}`;
  const decision = decided(classify(mail({ subject: `Re: ${request.subject}`, html })));
  assert.equal(decision.action, 'fail');
  assert.equal(decision.comment, 'Fail it, the backup is broken.');

  const quotedOnly = classify(mail({ subject: `Re: ${request.subject}`, html: `<p>Sure.</p>${quote}` }));
  assert.equal(quotedOnly.outcome, 'ambiguous');
});

void test('tokens quoted only inside percent-encoded mailto links still make the reply ambiguous', () => {
  const href = `mailto:completion@example.test?subject=Complete%20task%3A%20x%20%5B${C}%5D`;
  const result = classify(
    mail({ html: `<p>ok</p><blockquote><a href="${href}">Complete task</a></blockquote>` }),
  );
  assert.equal(result.outcome, 'ambiguous');
});

void test('both actions named by the sender are ambiguous, in any combination', () => {
  for (const m of [
    mail({ subject: `Complete task: x [${C}]`, text: `Token: ${F}` }),
    mail({ text: `Complete task [${C}]\nFail task [${F}]` }),
    mail({ subject: `[${C}] [${F}]` }),
  ]) {
    assert.deepEqual(classify(m), { outcome: 'ambiguous', reason: 'the reply names both complete and fail' });
  }
});

void test('the same token in subject and body is fine; tokens of two tasks are not', () => {
  assert.equal(classify(mail({ subject: `[${C}]`, text: `Token: ${C}` })).outcome, 'decision');
  const other = token('complete', { workflowId: 'remote-completion/T-2' });
  assert.deepEqual(classify(mail({ subject: `[${C}]`, text: `Token: ${other}` })), {
    outcome: 'ambiguous',
    reason: 'the reply names more than one task',
  });
});

void test('no token anywhere', () => {
  assert.deepEqual(classify(mail({ subject: 'Hello', text: 'Is this the right address?' })), {
    outcome: 'no-token',
    reason: 'no completion token in the subject or the text',
  });
  assert.equal(classify(mail({ subject: 'Hello', text: undefined })).outcome, 'no-token');
});

void test('forged, foreign and expired tokens', () => {
  const parts = C.split('.');
  parts[5] = Buffer.from('mallory@evil.test').toString('base64url');
  const forged = classify(mail({ from: { address: 'mallory@evil.test' }, subject: `[${parts.join('.')}]` }));
  assert.deepEqual(forged, { outcome: 'bad-signature', reason: 'the token signature does not match' });

  const foreign = token('complete', {}, keyring(['someone else']));
  assert.equal(classify(mail({ subject: `[${foreign}]` })).outcome, 'bad-signature');

  const expired = token('complete', { expiresAt: NOW - 1000 });
  assert.deepEqual(classify(mail({ subject: `[${expired}]` })), {
    outcome: 'expired',
    reason: 'the token has expired',
  });
});

void test('key rotation: a token signed with the previous secret, listed second, still verifies', () => {
  const old = token('complete', {}, keyring(['previous secret']));
  assert.equal(decided(classify(mail({ subject: `[${old}]` }))).action, 'complete');
});

void test('the sender must be the recipient the token was issued to, compared case-insensitively', () => {
  const mixedCase = decided(classify(mail({ from: { address: 'Alice@Example.TEST' }, subject: `[${C}]` })));
  assert.equal(mixedCase.sender, 'alice@example.test');

  assert.deepEqual(classify(mail({ from: { address: 'bob@other.test' }, subject: `[${C}]` })), {
    outcome: 'sender-mismatch',
    reason: 'sent by bob@other.test, but the token was issued to alice@example.test',
  });
  assert.equal(classify(mail({ from: undefined, subject: `[${C}]` })).outcome, 'sender-mismatch');
});

void test('a display name spelling the recipient does not pass for the address (through simpleParser)', async () => {
  const raw = [
    'From: "alice@example.test" <mallory@evil.test>',
    'To: completion@example.test',
    `Subject: Complete task: deploy [${C}]`,
    '',
    'ok',
  ].join('\r\n');
  const result = classify(
    toInboundMail(await simpleParser(raw, { skipHtmlToText: true }), {
      uidValidity: '1',
      uid: 1,
      size: raw.length,
      receivedAt: NOW,
      authentication: passedRaw(raw),
    }),
  );
  assert.equal(result.outcome, 'sender-mismatch');
  assert.match(result.reason, /^sent by mallory@evil\.test,/);
});

void test('unauthenticated: a valid token from a From domain that fails DKIM/DMARC decides nothing', () => {
  const failing = (status: 'fail' | 'temperror'): SenderVerdict => ({
    ...passed('alice@example.test'),
    status,
    summary: `dmarc=${status} (test)`,
  });
  const refused = classify(
    mail({ subject: `Complete task: deploy [${C}]`, authentication: failing('fail') }),
  );
  assert.deepEqual([refused.outcome, 'temporary' in refused], ['unauthenticated', false]);
  const later = classify(
    mail({ subject: `Complete task: deploy [${C}]`, authentication: failing('temperror') }),
  );
  // DNS trouble may pass: the sync tries again later.
  assert.deepEqual([later.outcome, 'temporary' in later && later.temporary], ['unauthenticated', true]);
});

void test('an RFC 2047 encoded, folded subject (through simpleParser)', async () => {
  const subject = `Complete task: Déploiement en production ✓ [${C}]`;
  const chars = Array.from(subject);
  const words: string[] = [];
  for (let i = 0; i < chars.length; i += 30) {
    words.push(`=?UTF-8?B?${Buffer.from(chars.slice(i, i + 30).join('')).toString('base64')}?=`);
  }
  const raw = [
    'From: Alice <ALICE@example.test>',
    'To: completion@example.test',
    `Subject: ${words.join('\r\n ')}`,
    'Message-ID: <encoded-1@example.test>',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Vérifié.',
  ].join('\r\n');
  const inbound = toInboundMail(await simpleParser(raw, { skipHtmlToText: true }), {
    uidValidity: '1',
    uid: 3,
    size: raw.length,
    receivedAt: NOW,
    authentication: passedRaw(raw),
  });
  assert.equal(inbound.subject, subject);
  const decision = decided(classify(inbound));
  assert.deepEqual(
    [decision.action, decision.sender, decision.comment, decision.messageId],
    ['complete', 'alice@example.test', 'Vérifié.', '<encoded-1@example.test>'],
  );
});

void test('whitelist: sender and every recipient domain must be listed, when enabled', () => {
  const whitelist = (domains: string[]): Partial<ClassifyContext> => ({
    whitelist: { enabled: true, domains },
  });
  const m = mail({ subject: `[${C}]`, cc: ['eve@evil.test'] });
  assert.deepEqual(classify(m, whitelist(['example.test'])), {
    outcome: 'not-whitelisted',
    reason: 'recipient eve@evil.test is not in a whitelisted domain',
  });
  assert.equal(classify(m, whitelist(['example.test', 'evil.test'])).outcome, 'decision');
  assert.equal(classify(m, { whitelist: { enabled: false, domains: [] } }).outcome, 'decision');
});

void test('whitelist: the completion mailbox itself need not be in a listed domain', () => {
  const m = mail({ subject: `[${C}]`, to: ['completion@mailhost.test', 'someone@mailhost.test'] });
  const result = classify(m, {
    whitelist: { enabled: true, domains: ['example.test'] },
    ownAddresses: ['completion@mailhost.test'],
  });
  assert.equal(result.outcome, 'not-whitelisted', 'another address of that domain still counts');
  const own = classify(mail({ subject: `[${C}]`, to: ['completion@mailhost.test'] }), {
    whitelist: { enabled: true, domains: ['example.test'] },
    ownAddresses: ['completion@mailhost.test'],
  });
  assert.equal(own.outcome, 'decision');
});

void test('automated mail is refused before anything else', () => {
  const m = mail({ subject: `[${C}]`, headers: { 'auto-submitted': 'auto-replied' }, cc: ['eve@evil.test'] });
  const result = classify(m, { whitelist: { enabled: true, domains: ['example.test'] } });
  assert.equal(result.outcome, 'auto-reply');
  assert.equal(
    classify(mail({ from: { address: 'Completion@Example.test' }, subject: `[${C}]` })).outcome,
    'auto-reply',
  );
});

void test('comment is capped with an ellipsis; message id falls back to uidvalidity:uid', () => {
  const decision = decided(
    classify(mail({ messageId: undefined, subject: `[${C}]`, text: 'abcdefghijklmnop' }), {
      maxCommentLength: 10,
    }),
  );
  assert.equal(decision.comment, 'abcdefghi…');
  assert.equal(decision.messageId, '1700000000:7');
});

void test('a comment cannot steer a terminal: escape sequences and control characters are removed', () => {
  const { subject, body } = button('complete');
  const text = `Fine.\x1b[2K\x1b[1A\rDENIED\n\x1b]0;owned\x07Ship \u202eit\u202c.\x07\x9b31m${body}`;
  assert.equal(decided(classify(mail({ subject, text }))).comment, 'Fine.\nDENIED\nShip it.');
  // In HTML a carriage return is white space.
  const html = `<p>${text.replace(/\n/g, '<br>')}</p>`;
  assert.equal(decided(classify(mail({ subject, html }))).comment, 'Fine. DENIED\nShip it.');
});

const HUGE = 1_000_000;
const hostileMail: [string, Partial<InboundMail>][] = [
  ['a subject of token heads', { subject: 'rc1.abcdefgh.c.1.'.repeat(HUGE / 17) }],
  ['a text of quote markers', { text: `${C}\n${'> '.repeat(HUGE / 2)}` }],
  ['a text of short header-like lines', { text: `${C}\n${'1:\n'.repeat(HUGE / 12)}` }],
  ['an HTML body of an unterminated tag', { html: `<p>${C}</p><a${'b'.repeat(HUGE)}` }],
  ['an HTML body of nested elements', { html: `<p>${C}</p>${'<div><blockquote>'.repeat(HUGE / 17)}` }],
  ['a comment of escape sequences', { text: `${'\x1b['.repeat(HUGE / 2)}\n${C}` }],
  ['an Auto-Submitted header of letters', { headers: { 'auto-submitted': 'a'.repeat(HUGE) } }],
  ['an address of dots', { from: { address: `alice@${'.'.repeat(HUGE)}` } }],
];
for (const [name, fields] of hostileMail) {
  void test(`classifyMail runs in linear time: ${name}`, () => {
    const m = mail(fields);
    assertWithinBudget(name, () => classify(m, { whitelist: { enabled: true, domains: ['example.test'] } }));
  });
}

after(() => {
  // Codes only the sync gives: it has no message to classify, or the classification ran over budget.
  const notFromClassify: OutcomeCode[] = [
    'signalled',
    'task-closed',
    'oversized',
    'unparseable',
    'too-complex',
    'deferred',
  ];
  const all = ['decision', ...OUTCOME_CODES.filter((code) => !notFromClassify.includes(code))];
  assert.deepEqual([...seen].sort(), all.sort(), `every code but ${notFromClassify.join(', ')} is produced`);
});
