import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import { detectAutomatedMail } from '../../domain/auto-reply';
import { toInboundMail, type InboundMail } from '../../domain/inbound-mail';

type Fields = Pick<InboundMail, 'from' | 'headers' | 'returnPath' | 'contentType'>;
const own = ['completion@example.test', 'Audit@Example.test'];
const person: Fields = {
  from: { address: 'alice@example.test' },
  headers: {},
  returnPath: 'alice@example.test',
  contentType: 'text/plain',
};

const automated: [string, Partial<Fields>, RegExp][] = [
  [
    'Auto-Submitted: auto-replied',
    { headers: { 'auto-submitted': 'auto-replied' } },
    /^Auto-Submitted: auto-replied/,
  ],
  [
    'Auto-Submitted: auto-generated with a comment',
    { headers: { 'auto-submitted': 'Auto-Generated (vacation)' } },
    /auto-generated/,
  ],
  ['X-Autoreply', { headers: { 'x-autoreply': 'yes' } }, /X-Autoreply/],
  ['X-Autorespond', { headers: { 'x-autorespond': 'Out of office' } }, /X-Autorespond/],
  ...['bulk', 'junk', 'list', 'auto_reply', ' Bulk '].map((p): [string, Partial<Fields>, RegExp] => [
    `Precedence: ${p}`,
    { headers: { precedence: p } },
    /^Precedence: /,
  ]),
  ['empty return path', { returnPath: '' }, /empty return path/],
  [
    'MAILER-DAEMON',
    { from: { address: 'MAILER-DAEMON@mx.example.test' } },
    /mailer-daemon@mx\.example\.test/,
  ],
  ['postmaster', { from: { address: 'postmaster@example.test' } }, /a bounce/],
  ['multipart/report', { contentType: 'multipart/report' }, /report/],
  [
    'our own address, any case',
    { from: { address: 'COMPLETION@example.test' } },
    /own address completion@example\.test/,
  ],
  ['our second address', { from: { address: 'audit@example.test' } }, /loop/],
];

for (const [name, fields, reason] of automated) {
  void test(`automated: ${name}`, () => {
    assert.match(detectAutomatedMail({ ...person, ...fields }, own) ?? '', reason);
  });
}

const human: [string, Partial<Fields>][] = [
  ['plain reply', {}],
  ['Auto-Submitted: no', { headers: { 'auto-submitted': 'no' } }],
  ['Precedence: first-class', { headers: { precedence: 'first-class' } }],
  ['no Return-Path header', { returnPath: undefined }],
  ['no From', { from: undefined }],
  ['a person named postmaster-team', { from: { address: 'postmaster-team@example.test' } }],
  ['multipart/alternative', { contentType: 'multipart/alternative' }],
];

for (const [name, fields] of human) {
  void test(`not automated: ${name}`, () => {
    assert.equal(detectAutomatedMail({ ...person, ...fields }, own), undefined);
  });
}

void test('a delivery report parsed by simpleParser is recognised', async () => {
  const raw = [
    'Return-Path: <>',
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>',
    'To: completion@example.test',
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    'Content-Type: multipart/report; report-type=delivery-status;',
    '\tboundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    'It bounced.',
    '--b1--',
  ].join('\r\n');
  const mail = toInboundMail(await simpleParser(raw, { skipHtmlToText: true }), {
    uidValidity: '1',
    uid: 1,
    size: raw.length,
    receivedAt: 0,
    authentication: { mode: 'off', status: 'off', summary: 'not checked here' },
  });
  assert.deepEqual(
    [mail.returnPath, mail.contentType, mail.headers['auto-submitted'], mail.from],
    [
      '',
      'multipart/report',
      'auto-replied',
      { address: 'mailer-daemon@mx.example.test', name: 'Mail Delivery System' },
    ],
  );
  assert.match(detectAutomatedMail(mail, own) ?? '', /Auto-Submitted/);
  assert.match(detectAutomatedMail({ ...mail, headers: {} }, own) ?? '', /return path/);
});
