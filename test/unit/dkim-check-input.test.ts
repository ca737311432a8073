import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { dkimVerify } from 'mailauth';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import {
  headerFields,
  MAX_DKIM_SIGNATURES,
  MAX_SIGNED_HEADER_FIELDS,
  withBoundedSignatures,
  withHeaderEnd,
} from '../../domain/sender-authentication';

const ALICE = 'alice@example.test';
const CRLF = '\r\n';
const body = `Approved.${CRLF}`;
const message = (...headers: string[]) =>
  Buffer.from(
    [...headers, `From: ${ALICE}`, 'To: completion@example.test', 'Subject: hi', '', body].join(CRLF),
  );
/** A signature that verifies nothing; `tags` decide its domain, length, signed fields. */
const junk = (tags: string) =>
  `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; s=sel; ${tags}; bh=AAAA; b=AAAA`;
const signatures = (raw: Buffer) =>
  headerFields(raw)
    .filter((f) => f.name === 'dkim-signature')
    .map((f) => f.value.trim());
const bodyOf = (raw: Buffer) => raw.subarray(raw.indexOf(`${CRLF}${CRLF}`));

test('a message with few signatures is given to the checker as it is', () => {
  const raw = message(junk('d=example.test; h=from'), junk('d=other.test; h=from'));
  assert.deepEqual(withBoundedSignatures(raw, ALICE), { raw, notChecked: 0 });
});

test(`at most ${MAX_DKIM_SIGNATURES} signatures are checked, those of the From domain first`, () => {
  const others = Array.from({ length: 3 }, (_, i) => junk(`d=other${i}.test; h=from`));
  const own = Array.from({ length: 3_000 }, (_, i) =>
    junk(`d=${i % 2 ? 'mail.example.test' : 'example.test'}; l=${i}; h=from`),
  );
  const raw = message(...others, ...own);
  const bounded = withBoundedSignatures(raw, ALICE);
  assert.equal(bounded.notChecked, 3_003 - MAX_DKIM_SIGNATURES);
  assert.deepEqual(
    signatures(bounded.raw),
    own.slice(0, MAX_DKIM_SIGNATURES).map((s) => s.slice('DKIM-Signature:'.length).trim()),
  );
  assert.deepEqual(bodyOf(bounded.raw), bodyOf(raw));
  assert.deepEqual(
    headerFields(bounded.raw).filter((f) => f.name !== 'dkim-signature'),
    headerFields(raw).filter((f) => f.name !== 'dkim-signature'),
  );
  // Signatures of other domains fill what the From domain leaves.
  const few = withBoundedSignatures(message(...others, ...own.slice(0, 3)), ALICE);
  assert.deepEqual(
    signatures(few.raw).map((s) => /d=([^;]+)/.exec(s)![1]),
    ['other0.test', 'other1.test', 'example.test', 'mail.example.test', 'example.test'],
  );
});

test(`a signature naming more than ${MAX_SIGNED_HEADER_FIELDS} header fields is not checked, folded or not`, () => {
  const names = (n: number) => Array.from({ length: n }, () => 'x-a').join(':');
  const long = junk(`d=example.test; h=${names(MAX_SIGNED_HEADER_FIELDS + 1)}`);
  const folded = junk(`d=example.test; h=${names(250_000).replace(/(x-a:){20}/g, `$&${CRLF}\t`)}`);
  const fine = junk(`d=example.test; h=${names(MAX_SIGNED_HEADER_FIELDS)}`);
  const arc = `ARC-Message-Signature: i=1; a=rsa-sha256; d=example.test; s=sel; h=${names(10_000)}; bh=AAAA; b=AAAA`;
  const bounded = withBoundedSignatures(message(long, folded, fine, arc), ALICE);
  assert.equal(bounded.notChecked, 3);
  assert.deepEqual(signatures(bounded.raw), [fine.slice('DKIM-Signature:'.length).trim()]);
  assert.ok(!headerFields(bounded.raw).some((f) => f.name === 'arc-message-signature'));
});

/** Signs like the stack's OpenDKIM (relaxed/relaxed, d=example.test) and serves the key to mailauth. */
function signer() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const signing = {
    signatureData: [
      {
        signingDomain: 'example.test',
        selector: 'stack',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      },
    ],
  };
  return {
    async sign(raw: Buffer): Promise<Buffer> {
      // mailauth 4.13.3 signs with signatureData; its type declarations do not name it.
      const { signatures } = await dkimSign(raw, signing as unknown as Parameters<typeof dkimSign>[1]);
      return Buffer.concat([Buffer.from(signatures), raw]);
    },
    async verify(raw: Buffer): Promise<string[]> {
      const resolver = (name: string) =>
        name === 'stack._domainkey.example.test'
          ? Promise.resolve([[`v=DKIM1; k=rsa; p=${key}`]])
          : Promise.reject(Object.assign(new Error(`no ${name}`), { code: 'ENOTFOUND' }));
      const { results } = await dkimVerify(raw, { resolver });
      return results.map((r) => (r.status as { result: string }).result);
    },
  };
}

test('the signature kept still verifies: every other byte is as it was', async () => {
  const dkim = signer();
  const unsigned = message(...Array.from({ length: 10 }, (_, i) => junk(`d=example.test; l=${i}; h=from`)));
  const { raw, notChecked } = withBoundedSignatures(await dkim.sign(unsigned), ALICE);
  assert.equal(notChecked, 11 - MAX_DKIM_SIGNATURES);
  assert.deepEqual(await dkim.verify(raw), [
    'pass',
    ...Array<string>(MAX_DKIM_SIGNATURES - 1).fill('neutral'),
  ]);
});

test('a message without a body (no empty line after its header) verifies once the header is ended', async () => {
  const dkim = signer();
  // Signed with an empty body; stored without the empty line, as the stack's Postfix stores it.
  const signed = await dkim.sign(
    Buffer.from(`From: ${ALICE}${CRLF}To: completion@example.test${CRLF}Subject: hi${CRLF}${CRLF}`),
  );
  for (const stored of [signed.subarray(0, -2), signed.subarray(0, -4)]) {
    assert.deepEqual(await dkim.verify(stored), ['none'], 'what mailauth makes of it');
    assert.deepEqual(await dkim.verify(withHeaderEnd(stored)), ['pass']);
  }
  const whole = message();
  assert.equal(withHeaderEnd(whole), whole);
});
